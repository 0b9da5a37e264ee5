//! Waiting on several sources at once with `wasi:io/poll`.
//!
//! [`EventBuffer::subscribe`](crate::EventBuffer::subscribe) gives a
//! [`Pollable`]; [`timer`] gives one that fires after a while. [`poll`]
//! blocks until at least one is ready and returns the indices of the ready
//! ones:
//!
//! ```no_run
//! # fn wait(ring: &bpflet_sdk::EventBuffer) {
//! use std::time::Duration;
//! use bpflet_sdk::io::{poll, timer};
//!
//! let records = ring.subscribe();
//! let tick = timer(Duration::from_secs(1));
//! for index in poll(&[&records, &tick]) {
//!     // 0: records are waiting, 1: a second has passed
//! }
//! # }
//! ```

use core::time::Duration;

pub use crate::bindings::wasi::io::poll::{poll, Pollable};

/// The one WASI interface the SDK needs beyond the `imports` world:
/// timers, as pollables of the same type the event buffers return.
mod clock {
    wit_bindgen::generate!({
        inline: "
            package bpflet:sdk-clock;
            world clock { import wasi:clocks/monotonic-clock@0.2.12; }
        ",
        path: "../../../wit",
        world: "bpflet:sdk-clock/clock",
        with: {
            "wasi:io/poll@0.2.12": crate::bindings::wasi::io::poll,
            "wasi:clocks/monotonic-clock@0.2.12": generate,
        },
    });
}

/// A pollable that becomes ready once `duration` has passed.
pub fn timer(duration: Duration) -> Pollable {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    clock::wasi::clocks::monotonic_clock::subscribe_duration(nanos)
}
