//! Asking a guest to stop, from any thread.
//!
//! By default a stop interrupts the guest at once: it traps at its next
//! epoch check ([`crate::interrupt_on_stop`]), and blocking host calls
//! return early. A guest that opted in through the `signals` interface
//! gets the first stop as a request instead (`stop-requested`, the
//! `subscribe-stop` pollable) and winds down by itself; a second stop
//! interrupts it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wasmtime::Engine;

/// The stop state of one store; clones share it.
#[derive(Clone)]
pub struct Stop(Arc<State>);

struct State {
    engine: Engine,
    requested: AtomicBool,
    /// The guest handles a stop itself (it called into `signals`).
    guest_handles: AtomicBool,
    /// The guest is to trap at its next epoch check.
    interrupt: AtomicBool,
}

/// What [`Stop::request`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopping {
    /// The guest was told, and is expected to return by itself.
    Guest,
    /// The guest traps at its next epoch check.
    Interrupted,
}

impl Stop {
    /// A stop for stores of `engine` (configured by [`crate::configure`]).
    pub fn new(engine: &Engine) -> Self {
        Stop(Arc::new(State {
            engine: engine.clone(),
            requested: AtomicBool::new(false),
            guest_handles: AtomicBool::new(false),
            interrupt: AtomicBool::new(false),
        }))
    }

    /// Asks the guest to stop: the first request goes to a guest that
    /// handles stops itself, any other one interrupts it.
    pub fn request(&self) -> Stopping {
        let first = !self.0.requested.swap(true, Ordering::SeqCst);
        if first && self.0.guest_handles.load(Ordering::SeqCst) {
            return Stopping::Guest;
        }
        self.0.interrupt.store(true, Ordering::SeqCst);
        self.0.engine.increment_epoch();
        Stopping::Interrupted
    }

    /// Whether a stop was requested; blocking host calls return early then.
    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::Relaxed)
    }

    /// The guest will wind down by itself on the first request.
    pub(crate) fn handle_in_guest(&self) {
        self.0.guest_handles.store(true, Ordering::SeqCst);
    }

    /// Whether the guest is to trap now.
    pub(crate) fn interrupts(&self) -> bool {
        self.0.interrupt.load(Ordering::Relaxed)
    }
}
