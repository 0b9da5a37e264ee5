//! `bpflet:ebpf/signals`: lets a guest finish cleanly on SIGINT/SIGTERM.
//! The guest opts in by asking; the signal handling itself is in `engine`.

use std::time::Duration;

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use crate::{engine, BpfCtxView};

/// The pollable's resource: ready once a stop was requested.
pub struct StopSignal;

#[async_trait::async_trait]
impl Pollable for StopSignal {
    async fn ready(&mut self) {
        // Signals arrive on another thread; a short sleep loop keeps this
        // independent of which runtime polls it, at no cost worth noting.
        while !engine::interrupted() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl crate::bindings::signals::Host for BpfCtxView<'_> {
    fn subscribe_stop(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        engine::handle_stop_in_guest();
        let signal = self.table.push(StopSignal)?;
        wasmtime_wasi::p2::subscribe(self.table, signal)
    }

    fn stop_requested(&mut self) -> wasmtime::Result<bool> {
        engine::handle_stop_in_guest();
        Ok(engine::interrupted())
    }
}
