//! SIGINT and SIGTERM stop the guest through its [`Stop`]: a guest that
//! handles the stop itself gets to finish first, any other (or a second
//! signal) is interrupted, and its resources are dropped in order. A guest
//! that does not stop within the grace period is cut off by exiting, which
//! closes every BPF fd and so detaches everything anyway.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bpflet_runtime::{Stop, Stopping};
use signal_hook::consts::{SIGINT, SIGTERM};

/// The signal that stopped the guest, once one arrived.
pub struct Signals(Arc<AtomicI32>);

impl Signals {
    pub fn received(&self) -> Option<i32> {
        Some(self.0.load(Ordering::SeqCst)).filter(|&signal| signal != 0)
    }
}

/// Watches for SIGINT and SIGTERM on a thread of its own.
pub fn watch(stop: Stop) -> anyhow::Result<Signals> {
    let received = Arc::new(AtomicI32::new(0));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let seen = Arc::clone(&received);
    std::thread::spawn(move || {
        let mut deadline_set = false;
        for signal in signals.forever() {
            seen.store(signal, Ordering::SeqCst);
            let stopping = stop.request();
            if !deadline_set {
                deadline_set = true;
                let grace = match stopping {
                    Stopping::Guest => Duration::from_secs(10),
                    Stopping::Interrupted => Duration::from_secs(3),
                };
                std::thread::spawn(move || {
                    std::thread::sleep(grace);
                    eprintln!("bpflet: the guest did not stop within {}s of signal {signal}; exiting", grace.as_secs());
                    std::process::exit(128 + signal);
                });
            }
        }
    });
    Ok(Signals(received))
}
