//! SIGINT and SIGTERM, and the run's `--timeout`, stop the guest through
//! its [`Stop`]: a guest that handles the stop itself gets to finish first,
//! any other (or a second signal) is interrupted, and its resources are
//! dropped in order. A guest
//! that does not stop within the grace period is cut off by exiting, which
//! closes every BPF fd and so detaches everything anyway.

use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use bpflet_runtime::{Stop, Stopping};

use crate::duration;
use signal_hook::consts::{SIGINT, SIGTERM};

/// What ended the run first: nothing yet, a signal, the timeout, or the
/// guest returning by itself. Whatever comes later does not count.
const RUNNING: u8 = 0;
const SIGNALLED: u8 = 1;
const TIMED_OUT_CAUSE: u8 = 2;
const FINISHED: u8 = 3;

/// The signal that stopped the guest, once one arrived, and whether the
/// run's `--timeout` stopped it first.
pub struct Signals {
    received: Arc<AtomicI32>,
    cause: Arc<AtomicU8>,
    /// The cut-off after a stop, armed once by whichever stop came first.
    cut_off: Arc<Once>,
}

impl Signals {
    pub fn received(&self) -> Option<i32> {
        Some(self.received.load(Ordering::SeqCst)).filter(|&signal| signal != 0)
    }

    /// Whether the timeout stopped the guest (before any signal did, and
    /// before the guest returned).
    pub fn timed_out(&self) -> bool {
        self.cause.load(Ordering::SeqCst) == TIMED_OUT_CAUSE
    }

    /// Stops the guest after `timeout` from now, as SIGTERM would, unless a
    /// signal or the guest's own return comes first.
    pub fn start_timeout(&self, timeout: Duration, stop: Stop) {
        let (cause, cut_off) = (Arc::clone(&self.cause), Arc::clone(&self.cut_off));
        std::thread::spawn(move || {
            std::thread::sleep(timeout);
            if cause.compare_exchange(RUNNING, TIMED_OUT_CAUSE, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                return;
            }
            let shown = duration::show(timeout);
            eprintln!("bpflet: the run reached its --timeout of {shown}; the guest was stopped");
            let stopping = stop.request();
            let why = format!("its --timeout of {shown}");
            cut_off.call_once(|| cut_off_after_grace(stopping, why, TIMED_OUT));
        });
    }

    /// The guest returned: a timeout from now on does not count.
    pub fn finished(&self) {
        let _ = self.cause.compare_exchange(RUNNING, FINISHED, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// The exit status of a run its `--timeout` stopped (as coreutils'
/// `timeout` has it).
pub const TIMED_OUT: i32 = 124;

/// Watches for SIGINT and SIGTERM on a thread of its own.
pub fn watch(stop: Stop) -> anyhow::Result<Signals> {
    let received = Arc::new(AtomicI32::new(0));
    let cause = Arc::new(AtomicU8::new(RUNNING));
    let cut_off = Arc::new(Once::new());
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let (seen, first, cut) = (Arc::clone(&received), Arc::clone(&cause), Arc::clone(&cut_off));
    std::thread::spawn(move || {
        for signal in signals.forever() {
            seen.store(signal, Ordering::SeqCst);
            let _ = first.compare_exchange(RUNNING, SIGNALLED, Ordering::SeqCst, Ordering::SeqCst);
            let stopping = stop.request();
            cut.call_once(|| cut_off_after_grace(stopping, format!("signal {signal}"), 128 + signal));
        }
    });
    Ok(Signals { received, cause, cut_off })
}

/// Exits with `status` unless the guest stops within its grace period: a
/// guest that handles the stop gets 10 s to finish, any other 3 s to be
/// interrupted (a host call that does not return, say).
fn cut_off_after_grace(stopping: Stopping, why: String, status: i32) {
    let grace = match stopping {
        Stopping::Guest => Duration::from_secs(10),
        Stopping::Interrupted => Duration::from_secs(3),
    };
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        eprintln!("bpflet: the guest did not stop within {}s of {why}; exiting", grace.as_secs());
        std::process::exit(status);
    });
}
