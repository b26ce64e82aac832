//! A game frame as a task graph, built once and run every frame: physics
//! per chunk of entities, then animation of that chunk (it reads what
//! physics wrote, so it waits for that chunk only, not for all physics),
//! then rendering on the main thread once every chunk is animated. Asset
//! streaming runs at `Low` priority outside the graph, in the gaps. Prints
//! frame-time percentiles; `--dot` prints the graph in Graphviz's language
//! instead (`cargo run --example frame_graph -- --dot | dot -Tsvg > frame.svg`).
//! `--trace FILE` (with feature `trace`) writes the run as a Chrome trace,
//! one track per thread, to open in <https://ui.perfetto.dev>.
//!
//! ```sh
//! cargo run --release -p spindle --example frame_graph
//! cargo run --release -p spindle --features trace --example frame_graph -- --trace frame.json
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spindle::{Pool, Priority, SpinLock};

const CHUNKS: usize = 40;
const PER_CHUNK: usize = 1_000;
const FRAMES: usize = 300;
/// 120 Hz.
const FRAME_BUDGET: Duration = Duration::from_micros(8_333);
const STREAMING: usize = 4;

#[derive(Clone, Copy, Default)]
struct Body {
    pos: [f32; 3],
    vel: [f32; 3],
}

fn integrate(bodies: &mut [Body], dt: f32) {
    for b in bodies {
        b.vel[1] -= 9.81 * dt;
        for k in 0..3 {
            b.pos[k] += b.vel[k] * dt;
        }
        if b.pos[1] < 0.0 {
            b.pos[1] = -b.pos[1];
            b.vel[1] = -b.vel[1] * 0.8;
        }
    }
}

fn animate(bodies: &[Body], poses: &mut [[f32; 4]]) {
    for (b, p) in bodies.iter().zip(poses) {
        let speed = (b.vel[0] * b.vel[0] + b.vel[1] * b.vel[1] + b.vel[2] * b.vel[2]).sqrt();
        let phase = (b.pos[0] + b.pos[2]).sin();
        *p = [phase, phase.cos(), speed.min(10.0) / 10.0, b.pos[1]];
    }
}

/// An asset's decompression: about a millisecond of integer work.
fn decompress(seed: u64) -> u64 {
    let mut x = seed | 1;
    let until = Instant::now() + Duration::from_millis(1);
    while Instant::now() < until {
        for _ in 0..256 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    x
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trace_path = match args.iter().position(|a| a == "--trace") {
        Some(i) => match args.get(i + 1) {
            Some(path) => Some(path.clone()),
            None => return Err("--trace needs a file name".into()),
        },
        None => None,
    };
    if trace_path.is_some() && !cfg!(feature = "trace") {
        return Err("--trace needs the trace feature: cargo run --release -p spindle --features trace --example frame_graph -- --trace FILE".into());
    }
    let builder = Pool::builder().thread_name("frame-");
    // Room for the whole run's events (about 100 per frame per thread).
    #[cfg(feature = "trace")]
    let builder = builder.trace_capacity(1 << 17);
    let pool = builder.build()?;
    // Each chunk's bodies and poses behind a lock of their own: a node is
    // `Fn` (it runs every frame), and only one node touches a chunk at a
    // time, so the locks are never contended.
    let bodies: Vec<SpinLock<Vec<Body>>> = (0..CHUNKS)
        .map(|c| {
            SpinLock::new(
                (0..PER_CHUNK)
                    .map(|i| {
                        let i = c * PER_CHUNK + i;
                        Body {
                            pos: [i as f32 % 200.0, 10.0 + (i % 7) as f32, (i / 200) as f32],
                            vel: [
                                ((i % 13) as f32 - 6.0) * 0.1,
                                0.0,
                                ((i % 5) as f32 - 2.0) * 0.1,
                            ],
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    let poses: Vec<SpinLock<Vec<[f32; 4]>>> = (0..CHUNKS)
        .map(|_| SpinLock::new(vec![[0.0; 4]; PER_CHUNK]))
        .collect();
    let drawn = AtomicU64::new(0);
    let render_thread = SpinLock::new(None);

    let g = pool.graph();
    let render = g
        .node("render", || {
            // The main thread: where graphics APIs live.
            *render_thread.lock() = Some(std::thread::current().id());
            let checksum: f64 = poses
                .iter()
                .map(|p| p.lock().iter().map(|q| f64::from(q[0] + q[3])).sum::<f64>())
                .sum();
            assert!(checksum.is_finite());
            drawn.fetch_add(1, Ordering::Relaxed);
        })
        .on_main_thread();
    for c in 0..CHUNKS {
        let (bodies, poses) = (&bodies, &poses);
        let physics = g.node(format!("physics {c}"), move || {
            integrate(&mut bodies[c].lock(), 1.0 / 120.0);
        });
        let animation = g.node(format!("animation {c}"), move || {
            animate(&bodies[c].lock(), &mut poses[c].lock());
        });
        physics.precedes(animation).precedes(render);
    }
    let frame = g.build()?;
    if args.iter().any(|a| a == "--dot") {
        print!("{}", frame.to_dot());
        return Ok(());
    }

    let streamed = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut frame_times = Vec::with_capacity(FRAMES);
    for n in 0..FRAMES {
        let start = Instant::now();
        // Streaming: top up the background jobs (Low: they run when no
        // frame work is waiting). A bare priority needs no checking.
        while in_flight.load(Ordering::Relaxed) < STREAMING {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (streamed, in_flight) = (streamed.clone(), in_flight.clone());
            pool.spawn_placed(Priority::Low, move || {
                std::hint::black_box(decompress(n as u64));
                streamed.fetch_add(1, Ordering::Relaxed);
                in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
        // The whole frame: physics → animation per chunk → render, here.
        frame.run_scoped();
        frame_times.push(start.elapsed());
        spindle::frame_mark();
        // Lend the rest of the frame to the pool, then wait for the next.
        pool.run_pending(FRAME_BUDGET.saturating_sub(start.elapsed()));
        std::thread::sleep(FRAME_BUDGET.saturating_sub(start.elapsed()));
    }

    assert_eq!(drawn.load(Ordering::Relaxed), FRAMES as u64);
    assert_eq!(*render_thread.lock(), Some(std::thread::current().id()));
    frame_times.sort();
    println!(
        "{FRAMES} frames of {} entities as a {}-node graph on {} threads: frame CPU time p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        CHUNKS * PER_CHUNK,
        frame.len(),
        pool.num_workers() + 1,
        percentile(&frame_times, 0.50),
        percentile(&frame_times, 0.99),
        frame_times[frame_times.len() - 1],
    );
    println!(
        "assets streamed at Low priority meanwhile: {}",
        streamed.load(Ordering::Relaxed)
    );
    #[cfg(feature = "trace")]
    if let Some(path) = trace_path {
        let trace = pool.trace();
        trace.write_chrome_json(&path)?;
        let lost: u64 = trace.threads.iter().map(|t| t.lost).sum();
        println!(
            "trace: {} events on {} threads ({lost} overwritten) written to {path}",
            trace.len(),
            trace.threads.len()
        );
    }
    Ok(())
}
