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
//! - split (a ceiling, not a peer): no scheduler and no futures. The 200
//!   client/server socket pairs are cut in equal parts, one per plain
//!   thread, each thread a hand-written event loop on its own epoll set
//!   (level-triggered, so no re-arming). Every wake is on the thread that
//!   owns the socket and costs only the syscalls the echo needs. Connects
//!   happen before the timing starts. No runtime can beat this shape.

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

mod split_echo {
    use super::*;
    use polling::{Event, Events, PollMode, Poller};
    use std::io::{ErrorKind, Read, Write};
    use std::net::{TcpListener, TcpStream};

    /// One client and the server's side of its connection.
    struct Pair {
        client: TcpStream,
        server: TcpStream,
        client_id: usize,
        trip: usize,
        got: usize,
        back: [u8; MSG],
        start: Instant,
        t0: Instant,
        trips: Vec<Duration>,
    }

    /// Writes all of `buf`, retrying on a full socket buffer (1 KiB into
    /// an empty loopback buffer; the retry is for correctness only).
    fn write_all(s: &mut TcpStream, mut buf: &[u8]) {
        while !buf.is_empty() {
            match s.write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("echo write: {e}"),
            }
        }
    }

    /// One thread's event loop over its pairs until every client is done.
    fn serve(mut pairs: Vec<Pair>) -> Vec<(Vec<Duration>, Duration, usize)> {
        let poller = Poller::new().expect("poller");
        for (i, p) in pairs.iter().enumerate() {
            // SAFETY: `polling` requires a source to leave the poller
            // before it is closed. The sockets live in `pairs`, which is
            // consumed only after the poller is dropped below.
            unsafe {
                poller
                    .add_with_mode(&p.client, Event::readable(2 * i), PollMode::Level)
                    .expect("add client");
                poller
                    .add_with_mode(&p.server, Event::readable(2 * i + 1), PollMode::Level)
                    .expect("add server");
            }
        }
        let now = Instant::now();
        for p in &mut pairs {
            p.start = now;
            p.t0 = Instant::now();
            let msg = message(p.client_id, 0);
            write_all(&mut p.client, &msg);
        }
        let mut open = pairs.len();
        let mut events = Events::new();
        let mut buf = [0u8; MSG];
        while open > 0 {
            events.clear();
            poller.wait(&mut events, None).expect("wait");
            for ev in events.iter() {
                let p = &mut pairs[ev.key / 2];
                if ev.key % 2 == 1 {
                    // The server side: echo what came. One read per event:
                    // level-triggered readiness reports the rest, so no
                    // read ever ends in WouldBlock (the fewest syscalls).
                    match p.server.read(&mut buf) {
                        Ok(0) => poller.delete(&p.server).expect("delete"),
                        Ok(n) => write_all(&mut p.server, &buf[..n]),
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::WouldBlock | ErrorKind::Interrupted
                            ) => {}
                        Err(e) => panic!("echo read: {e}"),
                    }
                    continue;
                }
                // The client side: finish the trip, start the next.
                match p.client.read(&mut p.back[p.got..]) {
                    Ok(0) => panic!("server hung up"),
                    Ok(n) => p.got += n,
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                    Err(e) => panic!("client read: {e}"),
                }
                if p.got < MSG {
                    continue;
                }
                p.trips.push(p.t0.elapsed());
                assert!(p.back == message(p.client_id, p.trip), "echo mismatch");
                p.got = 0;
                p.trip += 1;
                if p.trip < TRIPS {
                    p.t0 = Instant::now();
                    let msg = message(p.client_id, p.trip);
                    write_all(&mut p.client, &msg);
                } else {
                    poller.delete(&p.client).expect("delete");
                    p.client
                        .shutdown(std::net::Shutdown::Write)
                        .expect("shutdown");
                    open -= 1;
                }
            }
        }
        // The poller goes first: no socket is closed while registered.
        drop(poller);
        pairs
            .into_iter()
            .map(|p| (p.trips, p.start.elapsed(), p.client_id))
            .collect()
    }

    pub fn run(threads: usize) -> Vec<(Vec<Duration>, Duration)> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut parts: Vec<Vec<Pair>> = (0..threads).map(|_| Vec::new()).collect();
        let now = Instant::now();
        for c in 0..CLIENTS {
            let client = TcpStream::connect(addr).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            client.set_nonblocking(true).expect("nonblocking");
            server.set_nonblocking(true).expect("nonblocking");
            parts[c % threads].push(Pair {
                client,
                server,
                client_id: c,
                trip: 0,
                got: 0,
                back: [0; MSG],
                start: now,
                t0: now,
                trips: Vec::with_capacity(TRIPS),
            });
        }
        let mut out: Vec<(Vec<Duration>, Duration, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| s.spawn(move || serve(part)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("echo thread"))
                .collect()
        });
        out.sort_by_key(|c| c.2);
        out.into_iter().map(|(t, d, _)| (t, d)).collect()
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
        bench("split", slowest, move || split_echo::run(pools.threads)),
    ]
}
