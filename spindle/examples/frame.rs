//! A game frame loop on one pool: physics on every entity in parallel,
//! then animation (it reads what physics wrote), then rendering on the main
//! thread, while `Low`-priority asset streaming runs in the gaps. The main
//! thread lends the rest of each frame to the pool and prints frame-time
//! percentiles at the end.
//!
//! ```sh
//! cargo run --release -p spindle --example frame
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spindle::{Options, Pool, Priority};

const ENTITIES: usize = 40_000;
const CHUNK: usize = 1_024;
const FRAMES: usize = 120;
/// 120 Hz: the time a frame may take before the next one starts.
const FRAME_BUDGET: Duration = Duration::from_micros(8_333);
/// Asset jobs kept in flight; each takes about a millisecond.
const STREAMING: usize = 4;

#[derive(Clone, Copy, Default)]
struct Body {
    pos: [f32; 3],
    vel: [f32; 3],
}

/// One physics step for a chunk of bodies: gravity, integration, a floor.
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

/// Animation for a chunk: a pose per body from where physics put it.
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
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() -> Result<(), spindle::Error> {
    let pool = Pool::builder().thread_name("frame-").build()?;
    let mut bodies: Vec<Body> = (0..ENTITIES)
        .map(|i| Body {
            pos: [i as f32 % 200.0, 10.0 + (i % 7) as f32, (i / 200) as f32],
            vel: [
                ((i % 13) as f32 - 6.0) * 0.1,
                0.0,
                ((i % 5) as f32 - 2.0) * 0.1,
            ],
        })
        .collect();
    let mut poses = vec![[0.0f32; 4]; ENTITIES];
    let streamed = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let uploads = Arc::new(AtomicUsize::new(0));
    let low = Options::new().priority(Priority::Low);
    let mut frame_times = Vec::with_capacity(FRAMES);
    let mut checksum = 0.0f64;

    for frame in 0..FRAMES {
        let start = Instant::now();
        // Streaming: top up the background asset jobs (Low: they run only
        // when no frame work is waiting).
        while in_flight.load(Ordering::Relaxed) < STREAMING {
            in_flight.fetch_add(1, Ordering::Relaxed);
            let (streamed, in_flight) = (streamed.clone(), in_flight.clone());
            pool.spawn_with(low.clone(), move || {
                std::hint::black_box(decompress(frame as u64));
                streamed.fetch_add(1, Ordering::Relaxed);
                in_flight.fetch_sub(1, Ordering::Relaxed);
            })?;
        }

        // Physics: every chunk in parallel; the scope ends when all are done.
        let dt = 1.0 / 120.0;
        pool.scope(|s| {
            for chunk in bodies.chunks_mut(CHUNK) {
                s.spawn(move |_| integrate(chunk, dt));
            }
        });

        // Animation reads physics' results; a chunk that finds something to
        // upload asks the main thread (graphics APIs live there).
        pool.scope(|s| {
            for (i, (b, p)) in bodies
                .chunks(CHUNK)
                .zip(poses.chunks_mut(CHUNK))
                .enumerate()
            {
                let (pool, uploads) = (&pool, uploads.clone());
                s.spawn(move |_| {
                    animate(b, p);
                    if i % 8 == 0 {
                        pool.spawn_on_main(move || {
                            uploads.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });

        // Render, on the main thread: the uploads first, then the draw list.
        pool.run_main_jobs()?;
        checksum += poses.iter().map(|p| f64::from(p[0] + p[3])).sum::<f64>();
        frame_times.push(start.elapsed());

        // Lend what is left of the frame to the pool (streaming runs here
        // too), then wait for the next frame's start.
        let left = FRAME_BUDGET.saturating_sub(start.elapsed());
        pool.run_pending(left);
        let left = FRAME_BUDGET.saturating_sub(start.elapsed());
        std::thread::sleep(left);
    }

    // Every chunk of every frame asked for its upload once (`i % 8 == 0`),
    // and each ran on the main thread.
    let chunks = ENTITIES.div_ceil(CHUNK);
    assert_eq!(uploads.load(Ordering::Relaxed), FRAMES * chunks.div_ceil(8));
    assert!(poses.iter().all(|p| p.iter().all(|x| x.is_finite())));
    frame_times.sort();
    println!(
        "{FRAMES} frames of {ENTITIES} entities on {} threads: frame CPU time p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        pool.num_workers() + 1,
        percentile(&frame_times, 0.50),
        percentile(&frame_times, 0.99),
        frame_times[frame_times.len() - 1],
    );
    println!(
        "assets streamed at Low priority: {}; uploads run on the main thread: {}; checksum {checksum:.1}",
        streamed.load(Ordering::Relaxed),
        uploads.load(Ordering::Relaxed),
    );
    Ok(())
}
