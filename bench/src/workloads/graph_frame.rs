//! `graph-frame`: a game frame as dependent work, 300 frames per run, the
//! samples being frame times (p50 as the median, and p99). Per frame: 40
//! physics chunks, each followed by the animation of the same chunk, then
//! one render step that reads every chunk; beside them 4 streaming jobs.
//! Each chunk is 1,000 bodies; a streaming job is ~20 µs of integer work.
//! The result is checked: every body stepped once per frame, every frame
//! rendered once.
//!
//! - spindle: a `Graph` built once (physics[c] → animation[c] → render on
//!   the main thread, streaming nodes at `Low` priority), `run_scoped` per
//!   frame from the bench thread, which built the pool (the render node
//!   runs there). The bench thread takes part, so at 1 thread the row is
//!   `spindle-caller` (the one worker plus the caller), as for
//!   `tree-sum-small`.
//! - rayon: per frame a `scope` with a job per chunk (physics then
//!   animation) and the streaming jobs, then the render on the bench
//!   thread: the dependencies are a tree, which a scope expresses.
//! - tokio: a task per chunk and per streaming job, joined, then the
//!   render on the bench thread.

use crate::impls::{check, Bench, Pools};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHUNKS: usize = 40;
const PER_CHUNK: usize = 1_000;
const FRAMES: usize = 300;
const STREAMING: usize = 4;

#[derive(Clone, Copy)]
struct Body {
    pos: [f32; 3],
    vel: [f32; 3],
}

/// The world: bodies and poses per chunk, and what the steps counted.
struct World {
    bodies: Vec<Mutex<Vec<Body>>>,
    poses: Vec<Mutex<Vec<f32>>>,
    stepped: AtomicU64,
    rendered: AtomicU64,
}

impl World {
    fn new() -> Self {
        World {
            bodies: (0..CHUNKS)
                .map(|c| {
                    Mutex::new(
                        (0..PER_CHUNK)
                            .map(|i| {
                                let i = (c * PER_CHUNK + i) as f32;
                                Body {
                                    pos: [i % 200.0, 10.0 + i % 7.0, i / 200.0],
                                    vel: [(i % 13.0 - 6.0) * 0.1, 0.0, (i % 5.0 - 2.0) * 0.1],
                                }
                            })
                            .collect(),
                    )
                })
                .collect(),
            poses: (0..CHUNKS)
                .map(|_| Mutex::new(vec![0.0; PER_CHUNK]))
                .collect(),
            stepped: AtomicU64::new(0),
            rendered: AtomicU64::new(0),
        }
    }

    fn physics(&self, c: usize) {
        let mut bodies = self.bodies[c].lock().unwrap();
        let dt = 1.0 / 120.0;
        for b in bodies.iter_mut() {
            b.vel[1] -= 9.81 * dt;
            for k in 0..3 {
                b.pos[k] += b.vel[k] * dt;
            }
            if b.pos[1] < 0.0 {
                b.pos[1] = -b.pos[1];
                b.vel[1] = -b.vel[1] * 0.8;
            }
        }
        self.stepped.fetch_add(PER_CHUNK as u64, Ordering::Relaxed);
    }

    fn animate(&self, c: usize) {
        let bodies = self.bodies[c].lock().unwrap();
        let mut poses = self.poses[c].lock().unwrap();
        for (b, p) in bodies.iter().zip(poses.iter_mut()) {
            *p = (b.pos[0] + b.pos[2]).sin() + b.pos[1];
        }
    }

    fn render(&self) {
        let sum: f32 = self.poses.iter().map(|p| p.lock().unwrap()[0]).sum();
        assert!(sum.is_finite());
        self.rendered.fetch_add(1, Ordering::Relaxed);
    }

    /// After `runs` runs of `FRAMES` frames.
    fn check(&self, imp: &str, runs: u64) {
        let frames = runs * FRAMES as u64;
        check(
            "graph-frame",
            imp,
            self.rendered.load(Ordering::Relaxed),
            frames,
        );
        check(
            "graph-frame",
            imp,
            self.stepped.load(Ordering::Relaxed),
            frames * (CHUNKS * PER_CHUNK) as u64,
        );
    }
}

/// ~20 µs of integer work.
fn stream(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// Runs `frame` `FRAMES` times, pushing each one's time.
fn frames(samples: &mut Vec<Duration>, mut frame: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..FRAMES {
        let t = Instant::now();
        frame();
        samples.push(t.elapsed());
    }
    start.elapsed()
}

pub fn benches(pools: &Pools) -> Vec<Bench<'_>> {
    let spindle_name = if pools.threads == 1 {
        "spindle-caller"
    } else {
        "spindle"
    };
    let mut spindle_state: Option<(Arc<World>, spindle::Graph<'static>, u64)> = None;
    let mut rayon_state: Option<(Arc<World>, u64)> = None;
    let mut tokio_state: Option<(Arc<World>, u64)> = None;
    vec![
        Bench::latency(spindle_name, move |samples| {
            let (world, graph, runs) = spindle_state.get_or_insert_with(|| {
                let world = Arc::new(World::new());
                let g = pools.spindle().pool().graph();
                let w = world.clone();
                let render = g.node("render", move || w.render()).on_main_thread();
                for c in 0..CHUNKS {
                    let (w1, w2) = (world.clone(), world.clone());
                    let physics = g.node("physics", move || w1.physics(c));
                    let animation = g.node("animation", move || w2.animate(c));
                    physics.precedes(animation).precedes(render);
                }
                for s in 0..STREAMING {
                    g.node("stream", move || {
                        std::hint::black_box(stream(s as u64));
                    })
                    .priority(spindle::Priority::Low);
                }
                (world, g.build().expect("an acyclic graph"), 0)
            });
            let t = frames(samples, || {
                pools.spindle().install_here(|| graph.run_scoped());
            });
            *runs += 1;
            world.check(spindle_name, *runs);
            t
        }),
        Bench::latency("rayon", move |samples| {
            let (world, runs) = rayon_state.get_or_insert_with(|| (Arc::new(World::new()), 0));
            let t = frames(samples, || {
                let w = &**world;
                pools.rayon().install(|| {
                    rayon::scope(|s| {
                        for c in 0..CHUNKS {
                            s.spawn(move |_| {
                                w.physics(c);
                                w.animate(c);
                            });
                        }
                        for i in 0..STREAMING {
                            s.spawn(move |_| {
                                std::hint::black_box(stream(i as u64));
                            });
                        }
                    });
                });
                w.render();
            });
            *runs += 1;
            world.check("rayon", *runs);
            t
        }),
        Bench::latency("tokio", move |samples| {
            let (world, runs) = tokio_state.get_or_insert_with(|| (Arc::new(World::new()), 0));
            let t = frames(samples, || {
                let w = world.clone();
                pools.tokio().block_on(async move {
                    let mut handles = Vec::with_capacity(CHUNKS + STREAMING);
                    for c in 0..CHUNKS {
                        let w = w.clone();
                        handles.push(tokio::spawn(async move {
                            w.physics(c);
                            w.animate(c);
                        }));
                    }
                    for i in 0..STREAMING {
                        handles.push(tokio::spawn(async move {
                            std::hint::black_box(stream(i as u64));
                        }));
                    }
                    for h in handles {
                        h.await.expect("a frame task panicked");
                    }
                });
                world.render();
            });
            *runs += 1;
            world.check("tokio", *runs);
            t
        }),
    ]
}
