#![cfg(not(loom))]
//! `Builder::build_global`: in a test binary of its own, since the global
//! pool is the process's.

#[test]
#[cfg_attr(
    miri,
    ignore = "the global pool's workers outlive main by design, which Miri reports as a leak"
)]
fn build_global_configures_the_pool_behind_the_free_functions() {
    spindle::Pool::builder()
        .workers(2)
        .thread_name("app-")
        .build_global()
        .unwrap();
    // Outside every pool, the free functions use it.
    assert_eq!(spindle::current_num_threads(), 3);
    let (tx, rx) = std::sync::mpsc::channel();
    spindle::spawn(move || {
        let name = std::thread::current().name().map(str::to_owned);
        tx.send(name).unwrap();
    });
    let name = rx.recv().unwrap().unwrap();
    assert!(name.starts_with("app-"), "{name}");
    let (a, b) = spindle::join(|| 1, || 2);
    assert_eq!(a + b, 3);
    // Only once.
    let err = spindle::Pool::builder().build_global().unwrap_err();
    assert!(matches!(err, spindle::Error::GlobalPoolExists), "{err}");
}
