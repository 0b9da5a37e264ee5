//! The `events` interface linked function by function: the only
//! implementations of its functions (the bindings' `Host` traits for
//! `events` are not implemented), since `poll` and `map-ring` lower their
//! results straight into guest memory (`lower`).

use std::time::Duration;

use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime::StoreContextMut;
use wasmtime_wasi::p2::DynPollable;

use super::lower::{LoweredBatch, LoweredRingPages, RingRef, RingRegion};
use super::EventBuffer;
use crate::abi::List;
use crate::bindings::events::BufferKind;
use crate::error::Returns;
use crate::maps::BpfMap;
use crate::{BpfView, Grant, HostError, Limit};

/// Links `events.event-buffer`.
pub(crate) fn add_to_linker<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut events = linker.instance(&crate::interface("events"))?;
    events.resource("event-buffer", ResourceType::host::<EventBuffer>(), |mut store, rep| {
        let view = store.data_mut().bpf();
        let buffer = view.table.delete(Resource::<EventBuffer>::new_own(rep))?;
        view.ctx.give_back(Limit::Buffers, 1);
        view.ctx.give_back(Limit::KernelMemory, buffer.kernel_memory());
        view.ctx.release_map(buffer.map_id);
        Ok(())
    })?;
    events.func_wrap(
        "[static]event-buffer.open",
        |mut store: StoreContextMut<'_, T>,
         (map, pages_per_cpu): (Resource<BpfMap>, Option<u32>)|
         -> Returns<Resource<EventBuffer>> {
            let view = store.data_mut().bpf();
            HostError::returns((|| {
                view.ctx.take(Limit::Buffers, 1, "opening an event buffer")?;
                let opened = EventBuffer::open(view.table.get(&map)?, pages_per_cpu).map_err(HostError::from);
                let pushed = opened.and_then(|buffer| {
                    // A perf buffer's pages are kernel memory too.
                    let pinned = buffer.kernel_memory();
                    view.ctx.take(Limit::KernelMemory, pinned, "this perf buffer's pages")?;
                    let map_id = buffer.map_id;
                    let pushed = view.table.push(buffer).map_err(|e| {
                        view.ctx.give_back(Limit::KernelMemory, pinned);
                        HostError::from(e)
                    })?;
                    // It holds the map open (and so its kernel memory).
                    view.ctx.hold_map(map_id);
                    Ok(pushed)
                });
                if pushed.is_err() {
                    view.ctx.give_back(Limit::Buffers, 1);
                }
                pushed
            })())
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.kind",
        |mut store: StoreContextMut<'_, T>, (buffer,): (Resource<EventBuffer>,)| -> wasmtime::Result<(BufferKind,)> {
            Ok((store.data_mut().bpf().table.get(&buffer)?.kind(),))
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.poll",
        |mut store: StoreContextMut<'_, T>,
         (buffer, timeout_ms, max_records): (Resource<EventBuffer>, u32, u32)|
         -> Returns<LoweredBatch> {
            let view = store.data_mut().bpf();
            let stop = view.ctx.stop.clone();
            HostError::returns((|| {
                let buffer = view.table.get_mut(&buffer)?;
                Ok(buffer.poll(Duration::from_millis(timeout_ms.into()), max_records, &stop)?)
            })())
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.map-ring",
        |mut store: StoreContextMut<'_, T>, (buffer,): (Resource<EventBuffer>,)| -> Returns<LoweredRingPages> {
            let view = store.data_mut().bpf();
            HostError::returns((|| {
                // A perf buffer is unsupported whatever the grants.
                let ring = view.table.get_mut(&buffer)?.ring_to_share()?;
                view.ctx.policy.check_grant(Grant::MapRing, "mapping a ring buffer into guest memory (map-ring)")?;
                Ok(LoweredRingPages {
                    page_size: ring.page as u32,
                    size: ring.size as u32,
                    region: List(RingRegion(RingRef::new(ring))),
                })
            })())
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.lost",
        |mut store: StoreContextMut<'_, T>, (buffer,): (Resource<EventBuffer>,)| -> wasmtime::Result<(u64,)> {
            Ok((store.data_mut().bpf().table.get(&buffer)?.lost(),))
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.subscribe",
        |mut store: StoreContextMut<'_, T>,
         (buffer,): (Resource<EventBuffer>,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            Ok((wasmtime_wasi::p2::subscribe(store.data_mut().bpf().table, buffer)?,))
        },
    )?;
    Ok(())
}
