//! `bpflet:ebpf/signals`: lets a guest finish cleanly when asked to stop
//! (SIGINT/SIGTERM under the CLI). The guest opts in by asking; the state
//! is the store's [`Stop`](crate::Stop).

use std::time::Duration;

use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use crate::{BpfCtxView, Stop};

/// The pollable's resource: ready once a stop was requested.
struct StopPollable(Stop);

#[async_trait::async_trait]
impl Pollable for StopPollable {
    async fn ready(&mut self) {
        // Requests come from another thread; a short sleep loop keeps this
        // independent of which runtime polls it, at no cost worth noting.
        while !self.0.is_requested() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl crate::bindings::signals::Host for BpfCtxView<'_> {
    fn subscribe_stop(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        self.ctx.stop.handle_in_guest();
        let pollable = self.table.push(StopPollable(self.ctx.stop.clone()))?;
        wasmtime_wasi::p2::subscribe(self.table, pollable)
    }

    fn stop_requested(&mut self) -> wasmtime::Result<bool> {
        self.ctx.stop.handle_in_guest();
        Ok(self.ctx.stop.is_requested())
    }
}
