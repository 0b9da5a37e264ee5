//! Stopping cleanly on SIGINT or SIGTERM.
//!
//! Without these, a signal stops a guest at once (and bpflet removes
//! everything it loaded). Calling either function opts in to the clean
//! stop: the first signal then only marks the stop as requested and cuts a
//! blocking [`EventBuffer::poll`](crate::EventBuffer::poll) short, so the
//! program can finish its work (print final counts) and return; a second
//! signal, or a program not done within the host's grace period, stops it
//! at once.
//!
//! ```no_run
//! use bpflet_sdk::{io, signals};
//!
//! let stop = signals::subscribe_stop();
//! let tick = io::timer(std::time::Duration::from_secs(1));
//! for index in io::poll(&[&stop, &tick]) {
//!     // 0: Ctrl-C or SIGTERM, 1: a second has passed
//! }
//! ```

use crate::bindings::bpflet::ebpf::signals as wit;
use crate::io::Pollable;

/// Whether the host was asked to stop the program (SIGINT, SIGTERM). Opts
/// in to the clean stop, as the module says.
#[inline]
pub fn stop_requested() -> bool {
    wit::stop_requested()
}

/// A pollable that is ready once a stop was requested, to wait on with
/// [`io::poll`](crate::io::poll) together with event buffers and timers.
/// Opts in to the clean stop, as [`stop_requested`] does.
pub fn subscribe_stop() -> Pollable {
    wit::subscribe_stop()
}
