//! `io-echo` and `io-echo-slowest`: a TCP echo server and 200 clients in
//! one process, on loopback. Each client connects, then makes 50 round
//! trips of a 1 KiB message (write it all, read all 1 KiB back, check it),
//! timing each. `io-echo` reports the round trips (p50 as the median, and
//! p99); `io-echo-slowest` times each run as its slowest client's total.
//! The server accepts the 200 connections and echoes each on a task of
//! its own until the client hangs up.
//!
//! - spindle: `spindle::io::Async` on the pool's own driver (no I/O
//!   thread), under `block_on`.
//! - tokio: `tokio::net` with its I/O driver, the same code shape.
//! - smol: `async-executor` on `threads` threads, with `async-io` (whose
//!   reactor thread comes on top).

use crate::impls::{check, Bench, Pools};
use std::time::{Duration, Instant};

const CLIENTS: usize = 200;
const TRIPS: usize = 50;
const MSG: usize = 1024;

fn message(client: usize, trip: usize) -> [u8; MSG] {
    [(client * 31 + trip) as u8; MSG]
}

/// What one run measured: every round trip, and each client's total.
struct Run {
    trips: Vec<Duration>,
    clients: Vec<Duration>,
}

impl Run {
    fn new(per_client: Vec<(Vec<Duration>, Duration)>, imp: &str) -> Self {
        check("io-echo", imp, per_client.len(), CLIENTS);
        let clients = per_client.iter().map(|c| c.1).collect();
        let trips: Vec<Duration> = per_client.into_iter().flat_map(|c| c.0).collect();
        check("io-echo", imp, trips.len(), CLIENTS * TRIPS);
        Run { trips, clients }
    }

    /// Pushes this run's samples; returns the run's time for the report.
    fn report(self, slowest: bool, samples: &mut Vec<Duration>) -> Duration {
        let max = self.clients.iter().copied().max().unwrap_or_default();
        if !slowest {
            samples.extend(self.trips);
        }
        max
    }
}

mod spindle_echo {
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use spindle::io::Async;
    use std::net::{TcpListener, TcpStream};

    pub async fn run() -> Vec<(Vec<Duration>, Duration)> {
        let listener = Async::<TcpListener>::bind("127.0.0.1:0").expect("bind");
        let addr = listener.get_ref().local_addr().expect("addr");
        let server = spindle::spawn_async(async move {
            for _ in 0..CLIENTS {
                let (mut conn, _) = listener.accept().await.expect("accept");
                drop(spindle::spawn_async(async move {
                    let mut buf = [0u8; MSG];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => conn.write_all(&buf[..n]).await.expect("echo"),
                        }
                    }
                }));
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                spindle::spawn_async(async move {
                    let start = Instant::now();
                    let mut s = Async::<TcpStream>::connect(addr).await.expect("connect");
                    let mut trips = Vec::with_capacity(TRIPS);
                    let mut back = [0u8; MSG];
                    for t in 0..TRIPS {
                        let msg = message(c, t);
                        let t0 = Instant::now();
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        trips.push(t0.elapsed());
                        assert!(back == msg, "echo mismatch");
                    }
                    (trips, start.elapsed())
                })
            })
            .collect();
        let mut out = Vec::with_capacity(CLIENTS);
        for c in clients {
            out.push(c.await.expect("client"));
        }
        server.await.expect("server");
        out
    }
}

mod tokio_echo {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub async fn run() -> Vec<(Vec<Duration>, Duration)> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            for _ in 0..CLIENTS {
                let (mut conn, _) = listener.accept().await.expect("accept");
                tokio::spawn(async move {
                    let mut buf = [0u8; MSG];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => conn.write_all(&buf[..n]).await.expect("echo"),
                        }
                    }
                });
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                tokio::spawn(async move {
                    let start = Instant::now();
                    let mut s = TcpStream::connect(addr).await.expect("connect");
                    let mut trips = Vec::with_capacity(TRIPS);
                    let mut back = [0u8; MSG];
                    for t in 0..TRIPS {
                        let msg = message(c, t);
                        let t0 = Instant::now();
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        trips.push(t0.elapsed());
                        assert!(back == msg, "echo mismatch");
                    }
                    (trips, start.elapsed())
                })
            })
            .collect();
        let mut out = Vec::with_capacity(CLIENTS);
        for c in clients {
            out.push(c.await.expect("client"));
        }
        server.await.expect("server");
        out
    }
}

mod smol_echo {
    use super::*;
    use async_io::Async;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    pub async fn run(ex: Arc<async_executor::Executor<'static>>) -> Vec<(Vec<Duration>, Duration)> {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).expect("bind");
        let addr = listener.get_ref().local_addr().expect("addr");
        let ex2 = ex.clone();
        let server = ex.spawn(async move {
            for _ in 0..CLIENTS {
                let (mut conn, _) = listener.accept().await.expect("accept");
                ex2.spawn(async move {
                    let mut buf = [0u8; MSG];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => conn.write_all(&buf[..n]).await.expect("echo"),
                        }
                    }
                })
                .detach();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                ex.spawn(async move {
                    let start = Instant::now();
                    let mut s = Async::<TcpStream>::connect(addr).await.expect("connect");
                    let mut trips = Vec::with_capacity(TRIPS);
                    let mut back = [0u8; MSG];
                    for t in 0..TRIPS {
                        let msg = message(c, t);
                        let t0 = Instant::now();
                        s.write_all(&msg).await.expect("write");
                        s.read_exact(&mut back).await.expect("read");
                        trips.push(t0.elapsed());
                        assert!(back == msg, "echo mismatch");
                    }
                    (trips, start.elapsed())
                })
            })
            .collect();
        let mut out = Vec::with_capacity(CLIENTS);
        for c in clients {
            out.push(c.await);
        }
        server.await;
        out
    }
}

/// A round-trip latency bench, or, with `slowest`, one timed by the
/// slowest client.
fn bench<'a>(
    name: &'static str,
    slowest: bool,
    mut run: impl FnMut() -> Vec<(Vec<Duration>, Duration)> + 'a,
) -> Bench<'a> {
    if slowest {
        Bench::new(name, move || {
            Run::new(run(), name).report(true, &mut Vec::new())
        })
    } else {
        Bench::latency(name, move |samples| {
            Run::new(run(), name).report(false, samples)
        })
    }
}

pub fn benches(pools: &Pools, slowest: bool) -> Vec<Bench<'_>> {
    vec![
        bench("spindle", slowest, move || {
            pools.spindle().block_on(|_| spindle_echo::run())
        }),
        bench("tokio", slowest, move || {
            pools.tokio().block_on(tokio_echo::run())
        }),
        bench("smol", slowest, move || pools.smol(smol_echo::run)),
    ]
}
