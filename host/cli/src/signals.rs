//! SIGINT and SIGTERM, and the run's `--timeout`, stop the guest through
//! its [`Stop`]: a guest that handles the stop itself gets to finish first,
//! any other (or a second signal) is interrupted, and its resources are
//! dropped in order. A guest
//! that does not stop within the grace period is cut off by exiting, which
//! closes every BPF fd and so detaches everything anyway.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use bpflet_runtime::{Stop, Stopping};

use crate::duration;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The signal that stopped the guest, once one arrived, and whether the
/// run's `--timeout` did.
pub struct Signals {
    received: Arc<AtomicI32>,
    timed_out: Arc<AtomicBool>,
}

impl Signals {
    pub fn received(&self) -> Option<i32> {
        Some(self.received.load(Ordering::SeqCst)).filter(|&signal| signal != 0)
    }

    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }
}

/// The exit status of a run its `--timeout` stopped (as coreutils'
/// `timeout` has it).
pub const TIMED_OUT: i32 = 124;

/// Watches for SIGINT and SIGTERM on a thread of its own, and stops the
/// guest after `timeout` too, as SIGTERM would.
pub fn watch(stop: Stop, timeout: Option<Duration>) -> anyhow::Result<Signals> {
    let received = Arc::new(AtomicI32::new(0));
    let timed_out = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let seen = Arc::clone(&received);
    let cut_off = Arc::new(Once::new());
    let (stop_on_signal, cut_off_on_signal) = (stop.clone(), Arc::clone(&cut_off));
    std::thread::spawn(move || {
        for signal in signals.forever() {
            seen.store(signal, Ordering::SeqCst);
            let stopping = stop_on_signal.request();
            let why = format!("signal {signal}");
            cut_off_on_signal.call_once(|| cut_off_after_grace(stopping, why, 128 + signal));
        }
    });
    if let Some(timeout) = timeout {
        let flag = Arc::clone(&timed_out);
        std::thread::spawn(move || {
            std::thread::sleep(timeout);
            flag.store(true, Ordering::SeqCst);
            let stopping = stop.request();
            let why = format!("its --timeout of {}", duration::show(timeout));
            cut_off.call_once(|| cut_off_after_grace(stopping, why, TIMED_OUT));
        });
    }
    Ok(Signals { received, timed_out })
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
