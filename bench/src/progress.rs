//! Progress on stderr: an `indicatif` bar while a run goes on, with the
//! per-workload progress lines printed above it.
//!
//! The bar only shows when stderr is a terminal. Elsewhere (CI logs, a
//! redirect) it is hidden and [`Progress::line`] falls back to a plain
//! `eprintln!`, so the log reads as it did before the bar existed. A
//! `--family` child always uses a hidden one: its stderr goes to the
//! parent, which owns the bar (see `isolated.rs`). Code
//! with no [`Progress`] at hand prints its lines with [`line`], above the
//! bar shown at the time, if any.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar on screen, if any (see [`line`]).
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Prints `text` as a line on stderr, above the progress bar if one shows.
pub fn line(text: &str) {
    match &*SHOWN.lock().unwrap_or_else(PoisonError::into_inner) {
        Some(bar) => bar.println(text),
        None => eprintln!("{text}"),
    }
}

/// A progress bar over some number of steps, or nothing when hidden.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `len` steps on stderr, hidden unless stderr is a terminal.
    pub fn new(len: u64) -> Self {
        let bar = ProgressBar::new(len);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40.cyan/blue}] {percent:>3}% (ETA {eta}) {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        if !bar.is_hidden() {
            *SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        }
        Progress { bar }
    }

    /// Redraws the bar every second, so that its clock and estimate move
    /// during a long workload too (a thread of this process wakes up once
    /// a second: for a parent waiting on its children, not for a process
    /// that measures).
    pub fn tick_every_second(&self) {
        if self.visible() {
            self.bar.enable_steady_tick(Duration::from_secs(1));
        }
    }

    /// A bar that never shows: [`line`](Self::line) is a plain `eprintln!`.
    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    /// Whether the bar is drawn (stderr is a terminal).
    pub fn visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Prints `text` as a line on stderr, above the bar when it shows.
    pub fn line(&self, text: &str) {
        if self.visible() {
            self.bar.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    /// Moves the bar to `pos` steps done (never backwards).
    pub fn advance_to(&self, pos: u64) {
        if pos > self.bar.position() {
            self.bar.set_position(pos);
        }
    }

    /// One more step done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// What is running now, shown after the bar.
    pub fn set_message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the bar, before the results go to the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        // One bar shows at a time: this one, if any.
        *SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
