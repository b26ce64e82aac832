#![cfg(not(loom))]
//! `Builder::pin_workers` / `pin_cores`: each worker runs on exactly its
//! own core; bad core lists are errors at build.

/// The cores the calling thread may run on, from `/proc` (Linux).
#[cfg(target_os = "linux")]
fn my_cores() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_owned();
    let mut cores = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cores.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => cores.push(part.parse().unwrap()),
        }
    }
    cores
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "reads /proc and calls sched_setaffinity")]
fn each_worker_runs_on_its_own_core() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    let allowed = my_cores();
    let workers = allowed.len().min(2);
    let pool = spindle::Pool::builder()
        .workers(workers)
        .thread_name("pin-")
        .pin_workers(true)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let done = spindle::Counter::new();
    // Enough sleeping jobs that every worker takes some.
    pool.dispatch(
        &done,
        (0..64).map(|_| {
            let seen = seen.clone();
            move || {
                let name = std::thread::current().name().unwrap_or("").to_owned();
                if name.starts_with("pin-") {
                    seen.lock().unwrap().insert(name, my_cores());
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }),
    );
    pool.wait(&done);
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "no job ran on a worker");
    for (name, cores) in seen.iter() {
        let i: usize = name["pin-".len()..].parse().unwrap();
        assert_eq!(cores, &vec![allowed[i]], "worker {name}");
    }
    // The calling thread is left alone.
    assert_eq!(my_cores(), allowed);
}

#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "calls sched_getaffinity")]
fn bad_core_lists_are_errors() {
    let allowed = my_cores();
    let outside = (0..4096).find(|c| !allowed.contains(c)).unwrap();
    let err = spindle::Pool::builder()
        .workers(1)
        .pin_cores([outside])
        .build()
        .unwrap_err();
    assert!(
        matches!(err, spindle::Error::InvalidCore { core, duplicated: false } if core == outside),
        "{err}"
    );
    let err = spindle::Pool::builder()
        .workers(1)
        .pin_cores([allowed[0], allowed[0]])
        .build()
        .unwrap_err();
    assert!(
        matches!(err, spindle::Error::InvalidCore { core, duplicated: true } if core == allowed[0]),
        "{err}"
    );
    assert!(err.to_string().contains("listed twice"), "{err}");
    let err = spindle::Pool::builder()
        .workers(allowed.len() + 1)
        .pin_workers(true)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, spindle::Error::NotEnoughCores { workers, cores } if workers == allowed.len() + 1 && cores == allowed.len()),
        "{err}"
    );
    // A good explicit list works.
    let pool = spindle::Pool::builder()
        .workers(1)
        .pin_cores([*allowed.last().unwrap()])
        .build()
        .unwrap();
    assert_eq!(pool.install(|| 1 + 1), 2);
}

#[cfg(not(target_os = "linux"))]
#[test]
fn pinning_is_an_error_where_unsupported() {
    let err = spindle::Pool::builder()
        .workers(1)
        .pin_workers(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, spindle::Error::PinningUnsupported));
}
