#![cfg_attr(not(unix), allow(missing_docs))]
#![cfg(not(loom))]
#![cfg(unix)]
//! `spindle::io::Async`: sockets awaited on the pool's own driver. Echo
//! with many clients, progress while every worker is busy, a peer that
//! hangs up, and a pool dropped with tasks parked on I/O.

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use spindle::io::Async;
use spindle::Pool;

/// One at a time: one test counts the process's descriptors.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves echo on a new listener; returns its address.
fn echo_server(pool: &Pool) -> std::net::SocketAddr {
    let listener = pool.install(|| Async::<TcpListener>::bind("127.0.0.1:0").unwrap());
    let addr = listener.get_ref().local_addr().unwrap();
    pool.spawn_async(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            spindle::spawn_async(async move {
                let mut buf = vec![0u8; 1024];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Many clients, many round trips each, every byte back in order.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn echo_with_many_clients() {
    let _s = serial();
    within(60, "echo", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let addr = echo_server(&pool);
        let clients: Vec<_> = (0..50u8)
            .map(|c| {
                pool.spawn_async(async move {
                    let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
                    let mut back = vec![0u8; 1024];
                    for r in 0..20u8 {
                        let msg = vec![c ^ r; 1024];
                        s.write_all(&msg).await.unwrap();
                        s.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, msg);
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
}

/// I/O completes while the only worker never goes idle: busy workers take
/// the events too.
///
/// Catches: events taken only by a worker about to sleep: the exchange
/// below would wait for the 2 s of churn to end.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn io_progresses_while_every_worker_is_busy() {
    let _s = serial();
    within(60, "busy io", || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let addr = echo_server(&pool);
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        common::keep_busy(&pool, stop.clone());
        let h = pool.spawn_async(async move {
            let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
            s.write_all(b"ping").await.unwrap();
            let mut b = [0u8; 4];
            s.read_exact(&mut b).await.unwrap();
            b
        });
        assert_eq!(&h.join().unwrap(), b"ping");
        let took = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        assert!(took < Duration::from_secs(1), "took {took:?}");
    });
}

/// A peer that hangs up: reads see the end (0), writes fail, nothing
/// hangs.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn a_peer_that_hangs_up() {
    let _s = serial();
    within(30, "hang up", || {
        let pool = Pool::builder().workers(2).build().unwrap();
        pool.block_on(async {
            let listener = Async::<TcpListener>::bind("127.0.0.1:0").unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            let mut client = Async::<TcpStream>::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            drop(server);
            let mut b = [0u8; 8];
            assert_eq!(client.read(&mut b).await.unwrap(), 0);
            // Writes to a closed peer fail sooner or later (EPIPE/ECONNRESET).
            let mut failed = false;
            for _ in 0..100 {
                if client.write_all(&[1u8; 4096]).await.is_err() {
                    failed = true;
                    break;
                }
            }
            assert!(failed);
        });
        // Connecting to a port nobody listens on is an error, not a hang.
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = pool.block_on(Async::<TcpStream>::connect(free));
        assert!(r.is_err());
    });
}

#[cfg(target_os = "linux")]
fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The descriptor count once it stops changing (what earlier tests'
/// pools close on their way out is closed by then).
#[cfg(target_os = "linux")]
fn settled_fds() -> usize {
    let mut last = fds();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(20));
        let now = fds();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// A pool dropped with tasks parked on I/O drops each of their futures
/// once, and every descriptor (sockets, the event queue) is closed.
///
/// Catches: tasks parked on I/O leaked at shutdown, or descriptors kept
/// open by a driver or source that outlives the pool.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn pool_dropped_with_tasks_parked_on_io() {
    let _s = serial();
    within(30, "drop with io", || {
        let before = settled_fds();
        let pool = Pool::builder().workers(2).build().unwrap();
        let dropped = Arc::new(AtomicUsize::new(0));
        struct OnDrop(Arc<AtomicUsize>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        for _ in 0..20 {
            let g = OnDrop(dropped.clone());
            let listener = pool.install(|| Async::<TcpListener>::bind("127.0.0.1:0").unwrap());
            pool.spawn_async(async move {
                let _g = g;
                let _ = listener.accept().await;
            });
        }
        std::thread::sleep(Duration::from_millis(50));
        assert!(fds() >= before + 20);
        drop(pool);
        assert_eq!(dropped.load(Ordering::SeqCst), 20);
        assert_eq!(settled_fds(), before, "descriptors left open");
    });
}

/// Data that arrived before the descriptor was registered, and data that
/// arrives between a read that would block and its wait, are both seen:
/// no edge is lost.
///
/// Catches: an edge-triggered registration that waits for the *next*
/// edge (the data already there never produces one): `readable` hangs.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn readiness_from_before_registration_is_seen() {
    let _s = serial();
    within(30, "early data", || {
        use std::io::Write;
        use std::os::unix::net::UnixStream;
        let pool = Pool::builder().workers(1).build().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"early").unwrap();
        let got = pool.block_on(async move {
            let b = Async::new(b).unwrap();
            b.readable().await.unwrap();
            let mut buf = [0u8; 5];
            let n = b
                .read_with(|mut s| std::io::Read::read(&mut s, &mut buf))
                .await
                .unwrap();
            // Nothing more: a read now waits; the writer sends later.
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                a.write_all(b"late").unwrap();
                a
            });
            let mut late = [0u8; 4];
            let m = b
                .read_with(|mut s| std::io::Read::read(&mut s, &mut late))
                .await
                .unwrap();
            drop(writer.join().unwrap());
            (n, buf, m, late)
        });
        assert_eq!(got, (5, *b"early", 4, *b"late"));
    });
}

/// A descriptor the event queue refuses (a regular file) is a clear
/// error from `Async::new`, and leaves nothing registered.
#[test]
#[cfg_attr(
    miri,
    ignore = "the OS event queue (epoll, eventfd, sockets) is outside what Miri emulates"
)]
fn a_descriptor_the_event_queue_refuses_is_an_error() {
    let _s = serial();
    let pool = Pool::builder().workers(1).build().unwrap();
    let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let err = pool.install(|| Async::new(file)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    // The pool's I/O still works afterwards.
    let addr = echo_server(&pool);
    let ok = pool.block_on(async move {
        let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
        s.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        b[0]
    });
    assert_eq!(ok, b'x');
}
