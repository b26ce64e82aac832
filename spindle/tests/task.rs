#![cfg(not(loom))]
//! Async tasks: spawn, join, panics, abort, block_on, awaiting counters
//! and events, waits from jobs and fibers, shutdown. Yields and the
//! cooperative budget are in `task_yield.rs`.

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pool(workers: usize) -> spindle::Pool {
    spindle::Pool::builder().workers(workers).build().unwrap()
}

/// Counts drops of the values it hands out.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drops {
    fn token(&self) -> Tracked {
        Tracked(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn spawn_and_join() {
    let p = pool(2);
    let h = p.spawn_async(async { 40 + 2 });
    assert_eq!(h.join().unwrap(), 42);
    let v = p.block_on(async {
        let hs: Vec<_> = (0..100u64)
            .map(|i| spindle::spawn_async(async move { i }))
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(v, 4950);
}

#[test]
fn panic_comes_back_as_an_error() {
    let p = pool(2);
    let err = p
        .spawn_async(async { panic!("task boom") })
        .join()
        .unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.to_string(), "task panicked: task boom");
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task boom"));
    // The pool goes on.
    assert_eq!(p.spawn_async(async { 1 }).join().unwrap(), 1);
}

#[test]
fn detached_panic_goes_to_the_handler() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let p = spindle::Pool::builder()
        .workers(1)
        .panic_handler(move |_| {
            s2.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    drop(p.spawn_async(async {
        spindle::yield_async().await;
        panic!("nobody joins me")
    }));
    let start = Instant::now();
    while seen.load(Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "panic lost");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn abort_drops_a_pending_future_once() {
    let p = pool(2);
    let drops = Drops::default();
    let token = drops.token();
    let h = p.spawn_async(async move {
        let _t = token;
        std::future::pending::<()>().await;
    });
    // Let it start and go idle.
    std::thread::sleep(Duration::from_millis(20));
    h.abort();
    h.abort(); // twice is fine
    let err = h.join().unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert_eq!(err.to_string(), "task was cancelled");
    assert_eq!(drops.count(), 1);
}

#[test]
fn abort_after_finish_keeps_the_result() {
    let p = pool(1);
    let h = p.spawn_async(async { 5 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    h.abort();
    assert_eq!(h.join().unwrap(), 5);
}

#[test]
fn dropped_handle_detaches() {
    let p = pool(2);
    let (tx, rx) = std::sync::mpsc::channel();
    drop(p.spawn_async(async move {
        spindle::yield_async().await;
        tx.send(9).unwrap();
    }));
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 9);
}

#[test]
fn output_of_a_detached_task_is_dropped_once() {
    let p = pool(2);
    let drops = Drops::default();
    for _ in 0..if cfg!(miri) { 50 } else { 1000 } {
        let t = drops.token();
        drop(p.spawn_async(async move { t }));
    }
    drop(p);
    assert_eq!(drops.count(), if cfg!(miri) { 50 } else { 1000 });
}

/// The shutdown rule: dropping the pool drops every unfinished
/// future exactly once, whether idle (waiting on a waker nobody calls),
/// queued, or waking itself forever.
#[test]
fn pool_drop_drops_every_unfinished_future_once() {
    let rounds = if cfg!(miri) { 2 } else { 20 };
    for round in 0..rounds {
        let p = pool(2);
        let drops = Drops::default();
        let mut handles = Vec::new();
        for i in 0..200 {
            let t = drops.token();
            handles.push(p.spawn_async(async move {
                let _t = t;
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                } else {
                    loop {
                        spindle::yield_async().await;
                    }
                }
            }));
        }
        // Some detached, some kept.
        let kept: Vec<_> = handles.drain(..100).collect();
        drop(handles);
        if round % 2 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(p);
        assert_eq!(drops.count(), 200, "round {round}");
        for h in kept {
            assert!(h.join().unwrap_err().is_cancelled());
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "spawns on the global pool, whose threads outlive main")]
fn spawn_from_a_future_dropped_at_shutdown_still_runs() {
    struct SpawnOnDrop(Arc<std::sync::Mutex<Option<spindle::JoinHandle<u8>>>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(spindle::spawn_async(async { 1 }));
        }
    }
    let slot = Arc::new(std::sync::Mutex::new(None));
    let p = pool(1);
    let guard = SpawnOnDrop(slot.clone());
    drop(p.spawn_async(async move {
        let _g = guard;
        std::future::pending::<()>().await;
    }));
    std::thread::sleep(Duration::from_millis(10));
    drop(p);
    // Spawned from a future dropped by the pool's shutdown (on the global
    // pool, since the dropping thread is no worker): it still completes.
    let h = slot.lock().unwrap().take().expect("spawned on drop");
    let _ = h.join();
}

#[test]
fn block_on_takes_non_send_futures_and_helps() {
    let p = pool(1);
    let local = std::rc::Rc::new(5);
    let v = p.block_on(async {
        let h = spindle::spawn_async(async { 2 });
        *local + h.await.unwrap()
    });
    assert_eq!(v, 7);
    // The caller ran jobs while it waited (participant slot).
    let done = spindle::Counter::new();
    p.dispatch(
        &done,
        (0..64).map(|_| || std::thread::sleep(Duration::from_micros(200))),
    );
    p.block_on(done.wait_async());
    assert!(done.is_done());
}

#[test]
fn counter_and_event_are_awaitable() {
    let p = pool(2);
    let ev = Arc::new(spindle::Event::manual());
    let done = spindle::Counter::new();
    let e2 = ev.clone();
    p.dispatch(
        &done,
        (0..8).map(|_| {
            let e = e2.clone();
            move || e.wait()
        }),
    );
    let e3 = ev.clone();
    let waiter = p.spawn_async(async move {
        e3.wait_async().await;
        1
    });
    std::thread::sleep(Duration::from_millis(10));
    assert!(!waiter.is_finished());
    ev.set();
    assert_eq!(waiter.join().unwrap(), 1);
    p.block_on(done.wait_async());
}

#[test]
fn auto_event_releases_one_task_per_set_even_when_a_waiter_is_dropped() {
    let p = pool(2);
    let ev = Arc::new(spindle::Event::auto());
    let released = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for _ in 0..4 {
        let (e, r) = (ev.clone(), released.clone());
        hs.push(p.spawn_async(async move {
            e.wait_async().await;
            r.fetch_add(1, Ordering::SeqCst);
        }));
    }
    std::thread::sleep(Duration::from_millis(20));
    // Abort one waiter: its queue entry goes away (or its grant passes on).
    hs.remove(0).abort();
    for _ in 0..3 {
        ev.set();
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(released.load(Ordering::SeqCst), 3);
}

#[test]
fn counter_wait_async_rethrows_a_job_panic() {
    let p = pool(2);
    let done = spindle::Counter::new();
    p.dispatch(&done, [|| panic!("dispatched boom")]);
    let d2 = done.clone();
    let err = p
        .spawn_async(async move { d2.wait_async().await })
        .join()
        .unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn plain_jobs_and_fibers_wait_on_join_handles() {
    // Fibers need mmap'd stacks and a context switch: not under Miri.
    let configs: &[usize] = if cfg!(miri) { &[0] } else { &[0, 8] };
    for &fibers in configs {
        let p = spindle::Pool::builder()
            .workers(2)
            .fibers(fibers)
            .build()
            .unwrap();
        let ev = Arc::new(spindle::Event::manual());
        let e2 = ev.clone();
        let h = p.spawn_async(async move {
            e2.wait_async().await;
            11
        });
        let (a, b) = p.join(
            move || h.join().unwrap(),
            move || {
                std::thread::sleep(Duration::from_millis(5));
                ev.set();
                1
            },
        );
        assert_eq!((a, b), (11, 1), "fibers {fibers}");
    }
}

#[test]
fn join_handle_awaited_across_tasks_and_aborted_from_a_thread() {
    let p = pool(2);
    let ev = Arc::new(spindle::Event::manual());
    let e2 = ev.clone();
    let inner = p.spawn_async(async move {
        e2.wait_async().await;
        3
    });
    let watcher = p.spawn_async(async move { inner.await.unwrap() * 2 });
    ev.set();
    assert_eq!(watcher.join().unwrap(), 6);

    let stuck = Arc::new(p.spawn_async(std::future::pending::<()>()));
    let s2 = stuck.clone();
    std::thread::spawn(move || s2.abort()).join().unwrap();
    let stuck = Arc::try_unwrap(stuck).expect("the thread dropped its clone");
    assert!(stuck.join().unwrap_err().is_cancelled());
}

#[test]
fn async_channel_between_tasks() {
    const N: u64 = if cfg!(miri) { 200 } else { 10_000 };
    let p = pool(2);
    let (tx, rx) = async_channel::bounded::<u64>(4);
    let producer = p.spawn_async(async move {
        for i in 0..N {
            tx.send(i).await.unwrap();
        }
    });
    let consumer = p.spawn_async(async move {
        let mut sum = 0;
        while let Ok(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), (0..N).sum());
}

#[test]
#[cfg_attr(
    miri,
    ignore = "async-io's reactor uses epoll and sockets, which Miri does not run"
)]
fn async_io_timer_and_tcp_echo() {
    use futures_lite_shim::*;
    let p = pool(2);
    // A timer from async-io's reactor thread wakes the task from outside.
    let t = p.spawn_async(async {
        let start = Instant::now();
        async_io::Timer::after(Duration::from_millis(20)).await;
        start.elapsed()
    });
    assert!(t.join().unwrap() >= Duration::from_millis(20));

    // A TCP echo over loopback: server and client are tasks.
    let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    let server = p.spawn_async(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 5];
        read_exact(&stream, &mut buf).await;
        write_all(&stream, &buf).await;
    });
    let client = p.spawn_async(async move {
        let s = async_io::Async::<std::net::TcpStream>::connect(addr)
            .await
            .unwrap();
        write_all(&s, b"hello").await;
        let mut buf = [0u8; 5];
        read_exact(&s, &mut buf).await;
        buf
    });
    assert_eq!(&client.join().unwrap(), b"hello");
    server.join().unwrap();
}

/// Minimal read/write helpers over async-io's readiness API (no extra
/// dependency for AsyncRead/AsyncWrite extension traits).
mod futures_lite_shim {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    pub async fn read_exact(s: &async_io::Async<TcpStream>, buf: &mut [u8]) {
        let mut got = 0;
        while got < buf.len() {
            // One non-blocking read through `&TcpStream`, retried on
            // readiness.
            let n = s.read_with(|mut t| t.read(&mut buf[got..])).await.unwrap();
            assert!(n > 0, "peer closed early");
            got += n;
        }
    }

    pub async fn write_all(s: &async_io::Async<TcpStream>, buf: &[u8]) {
        let mut put = 0;
        while put < buf.len() {
            put += s.write_with(|mut t| t.write(&buf[put..])).await.unwrap();
        }
    }
}

/// A `wait_async` future dropped before the count reaches zero leaves the
/// counter's wait list: many abandoned waits do not pile up wakers (each
/// holds a reference to its task), and the counter still completes.
#[test]
fn dropped_counter_wait_deregisters() {
    use std::task::{Context, Waker};
    let p = pool(1);
    let done = spindle::Counter::new();
    let ev = Arc::new(spindle::Event::manual());
    let e2 = ev.clone();
    p.dispatch(&done, [move || e2.wait()]);
    let counting = Arc::new(AtomicUsize::new(0));
    struct CountingWaker(Arc<AtomicUsize>);
    impl std::task::Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for _ in 0..100 {
        let waker = Waker::from(Arc::new(CountingWaker(counting.clone())));
        let mut f = Box::pin(done.wait_async());
        assert!(f
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(f);
        // The only strong refs left: ours (the list dropped its clone).
        drop(waker);
    }
    ev.set();
    p.wait(&done);
    assert_eq!(
        counting.load(Ordering::SeqCst),
        0,
        "a dropped wait was woken"
    );
}

/// Two tasks block mid-poll (a wait inside the future suspends its fiber)
/// and resume in the other order: each poll must still end with its own
/// record (what it yielded, whether it woke itself), not the other's.
#[test]
#[cfg_attr(
    miri,
    ignore = "fibers switch stacks in assembly, which Miri cannot run"
)]
fn polls_suspended_mid_way_resume_out_of_order() {
    common::within(60, "out-of-order polls", polls_out_of_order);
}

fn polls_out_of_order() {
    let pool = spindle::Pool::builder().workers(1).build().unwrap();
    let (first, second) = (
        Arc::new(spindle::Event::manual()),
        Arc::new(spindle::Event::manual()),
    );
    let (f, s) = (first.clone(), second.clone());
    let a = pool.spawn_async(async move {
        f.wait(); // blocks inside the poll: the fiber suspends
        spindle::yield_async().await;
        1
    });
    let b = pool.spawn_async(async move {
        s.wait();
        spindle::yield_async().await;
        2
    });
    // Both polls are suspended before either wait ends.
    let start = Instant::now();
    while pool.stats().total().fiber_suspends < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the polls did not suspend"
        );
        std::thread::yield_now();
    }
    first.set(); // `a` resumes while `b`'s poll is still open
    assert_eq!(a.join().unwrap(), 1);
    second.set();
    assert_eq!(b.join().unwrap(), 2);
}

/// Handles may cross `catch_unwind` (a wasm-bindgen `async` export built
/// with unwinding panics wraps its future in one).
#[test]
fn handles_are_unwind_safe() {
    fn check<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<spindle::JoinHandle<Vec<u8>>>();
    check::<spindle::JobHandle<String>>();
    let pool = spindle::Pool::builder().workers(1).build().unwrap();
    let handle = pool.spawn_handle(|| 5);
    let got = std::panic::catch_unwind(move || handle.join()).unwrap();
    assert_eq!(got, 5);
}
