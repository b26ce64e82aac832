#![cfg(not(loom))]
//! Bad settings give a clear `spindle::Error`, never a panic.

use spindle::{Error, Pool};

#[test]
fn zero_workers() {
    let e = Pool::builder().workers(0).build().unwrap_err();
    assert!(matches!(e, Error::ZeroWorkers));
    assert!(e.to_string().contains("at least one worker"));
}

#[test]
fn too_many_workers() {
    let e = Pool::builder()
        .workers(spindle::MAX_WORKERS + 1)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::TooManyWorkers { .. }), "{e}");
}

#[test]
fn deque_capacity_must_be_a_power_of_two_in_range() {
    for bad in [0, 3, 1000, 1 << 30] {
        let e = Pool::builder().deque_capacity(bad).build().unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidCapacity {
                    what: "deque_capacity",
                    ..
                }
            ),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains("power of two"));
    }
}

#[test]
fn job_capacity_bounded() {
    let e = Pool::builder()
        .job_capacity(usize::MAX)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidCapacity {
                what: "job_capacity",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn stack_too_small() {
    let e = Pool::builder().stack_size(100).build().unwrap_err();
    assert!(matches!(e, Error::StackTooSmall { .. }), "{e}");
}

#[test]
fn odd_but_valid_settings_work() {
    let p = Pool::builder()
        .workers(3)
        .deque_capacity(1)
        .job_capacity(0)
        .stack_size(256 * 1024)
        .thread_name("odd-")
        .build()
        .unwrap();
    let n = p.scope(|s| {
        for _ in 0..100 {
            s.spawn(|_| {
                spindle::join(|| (), || ());
            });
        }
        3
    });
    assert_eq!(n, 3);
    let (tx, rx) = std::sync::mpsc::channel();
    p.spawn(move || {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap()
    });
    let name = rx.recv().unwrap().unwrap();
    assert!(name.starts_with("odd-"), "{name}");
    assert!(
        p.stats().total().heap_fallbacks > 0,
        "job_capacity(0) means heap"
    );
}
