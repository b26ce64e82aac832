//! Pinning worker threads to cores: `Builder::pin_workers` and
//! `Builder::pin_cores`.
//!
//! Linux only (`sched_getaffinity` / `sched_setaffinity`). Elsewhere a
//! pool that asks for pinning fails to build with
//! [`Error::PinningUnsupported`](crate::Error::PinningUnsupported): a
//! silent no-op would let a program that relies on pinning (for cache or
//! NUMA locality, or to keep a core free for something else) run unpinned
//! without knowing.

use crate::error::Error;

/// Which cores the workers go to, one distinct core per worker: `chosen`
/// (the user's list) or every core the process may run on, in order.
pub(crate) fn plan(workers: usize, chosen: Option<&[usize]>) -> Result<Vec<usize>, Error> {
    let allowed = allowed_cores()?;
    let cores: Vec<usize> = match chosen {
        Some(list) => {
            for (i, &c) in list.iter().enumerate() {
                if list[..i].contains(&c) {
                    return Err(Error::InvalidCore {
                        core: c,
                        duplicated: true,
                    });
                }
                if !allowed.contains(&c) {
                    return Err(Error::InvalidCore {
                        core: c,
                        duplicated: false,
                    });
                }
            }
            list.to_vec()
        }
        None => allowed,
    };
    if cores.len() < workers {
        return Err(Error::NotEnoughCores {
            workers,
            cores: cores.len(),
        });
    }
    Ok(cores[..workers].to_vec())
}

#[cfg(target_os = "linux")]
fn allowed_cores() -> Result<Vec<usize>, Error> {
    // SAFETY: `cpu_set_t` is plain data; all-zero is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, core::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Err(Error::Pin {
            core: None,
            source: std::io::Error::last_os_error(),
        });
    }
    let max = 8 * core::mem::size_of_val(&set);
    Ok((0..max)
        .filter(|&c| {
            // SAFETY: `CPU_ISSET` reads the set at an index below its bit size.
            unsafe { libc::CPU_ISSET(c, &set) }
        })
        .collect())
}

#[cfg(not(target_os = "linux"))]
fn allowed_cores() -> Result<Vec<usize>, Error> {
    Err(Error::PinningUnsupported)
}

/// Pins the calling thread to `core`.
#[cfg(target_os = "linux")]
pub(crate) fn pin_current(core: usize) -> Result<(), Error> {
    // SAFETY: as in `allowed_cores`.
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: `core` is below the set's size (it came from
    // `allowed_cores`, which only yields indices inside it).
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Pin {
            core: Some(core),
            source: std::io::Error::last_os_error(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_current(_core: usize) -> Result<(), Error> {
    Err(Error::PinningUnsupported)
}
