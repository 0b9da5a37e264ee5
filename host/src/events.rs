//! `bpflet:ebpf/events`: records from ring buffers and perf buffers,
//! handed to the guest in batches (one byte list plus offsets).
//!
//! libbpf's callbacks append each record to one growing buffer; a poll
//! moves that buffer out whole, so a record is copied once on the host side
//! and once into guest memory, and there is no allocation per record.

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use libbpf_rs::{MapHandle, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use crate::bindings::events::{Batch, BufferKind};
use crate::bindings::maps::MapType;
use crate::maps::BpfMap;
use crate::types::Error;
use crate::BpfCtxView;

type Result<T> = std::result::Result<T, Error>;

/// Records received but not yet handed to the guest.
#[derive(Default)]
struct Pending {
    data: Vec<u8>,
    offsets: Vec<u32>,
    lost: u64,
}

impl Pending {
    fn push(&mut self, record: &[u8]) {
        self.offsets.push(self.data.len() as u32);
        self.data.extend_from_slice(record);
    }

    /// Moves out the first `max` records (all when `max` is 0).
    fn take(&mut self, max: u32) -> Batch {
        let lost = std::mem::take(&mut self.lost);
        if max == 0 || self.offsets.len() <= max as usize {
            // The batch takes the buffers; the next ones start at the size
            // these reached, so steady polling does not regrow them.
            let (data_len, count) = (self.data.len(), self.offsets.len());
            let data = std::mem::replace(&mut self.data, Vec::with_capacity(data_len));
            let offsets = std::mem::replace(&mut self.offsets, Vec::with_capacity(count));
            return Batch { data, offsets, lost };
        }
        let split = self.offsets[max as usize];
        let data = self.data.drain(..split as usize).collect();
        let offsets = self.offsets.drain(..max as usize).collect();
        for offset in &mut self.offsets {
            *offset -= split;
        }
        Batch { data, offsets, lost }
    }
}

enum Consumer {
    Ring(RingBuffer<'static>),
    Perf(PerfBuffer<'static>),
}

pub struct EventBuffer {
    consumer: Consumer,
    /// Written by libbpf's callbacks through a raw pointer, so it lives in a
    /// Box whose address never changes; declared after `consumer` so the
    /// callbacks are gone before it is freed.
    pending: Box<Pending>,
    total_lost: u64,
    /// Keeps the map open for as long as libbpf reads it.
    _map: MapHandle,
}

struct SendPtr(*mut Pending);
// SAFETY: the pointer is only dereferenced by callbacks that run inside
// calls on the EventBuffer that owns the pointee, on whichever thread holds it.
unsafe impl Send for SendPtr {}

impl EventBuffer {
    fn open(map: &BpfMap, pages_per_cpu: Option<u32>) -> Result<Self> {
        let handle = MapHandle::from_map_id(map.info().id).map_err(|e| Error::from_libbpf(&e, "reopening map"))?;
        let mut pending = Box::<Pending>::default();
        let ptr = SendPtr(&mut *pending);
        let consumer = match map.info().map_type {
            MapType::Ringbuf => {
                let mut builder = RingBufferBuilder::new();
                builder
                    .add(&handle, move |record: &[u8]| {
                        // SAFETY: see SendPtr; the Box outlives the ring buffer.
                        unsafe { (*ptr.0).push(record) };
                        0
                    })
                    .map_err(|e| Error::from_libbpf(&e, "opening ring buffer"))?;
                Consumer::Ring(builder.build().map_err(|e| Error::from_libbpf(&e, "opening ring buffer"))?)
            }
            MapType::PerfEventArray => {
                let pages = pages_per_cpu.unwrap_or(64) as usize;
                if !pages.is_power_of_two() {
                    return Err(Error::invalid_argument(format!("pages-per-cpu must be a power of two, got {pages}")));
                }
                let lost_ptr = SendPtr(ptr.0);
                let perf = PerfBufferBuilder::new(&handle)
                    .pages(pages)
                    .sample_cb(move |_cpu, record: &[u8]| {
                        // SAFETY: as above.
                        unsafe { (*ptr.0).push(record) }
                    })
                    .lost_cb(move |_cpu, count| {
                        // SAFETY: as above.
                        unsafe { (*lost_ptr.0).lost += count }
                    })
                    .build()
                    .map_err(|e| Error::from_libbpf(&e, "opening perf buffer"))?;
                Consumer::Perf(perf)
            }
            other => {
                return Err(Error::invalid_argument(format!(
                    "map {:?} is a {other:?} map; events need a ringbuf or perf-event-array map",
                    map.info().name
                )));
            }
        };
        Ok(EventBuffer { consumer, pending, total_lost: 0, _map: handle })
    }

    fn kind(&self) -> BufferKind {
        match self.consumer {
            Consumer::Ring(_) => BufferKind::Ring,
            Consumer::Perf(_) => BufferKind::Perf,
        }
    }

    fn epoll_fd(&self) -> RawFd {
        match &self.consumer {
            Consumer::Ring(rb) => rb.epoll_fd(),
            Consumer::Perf(pb) => pb.epoll_fd(),
        }
    }

    /// Moves what the kernel has into `pending`, at most `max` ring records.
    fn consume(&mut self, max: u32) -> Result<()> {
        let rc = match &self.consumer {
            Consumer::Ring(rb) if max == 0 => rb.consume_raw(),
            Consumer::Ring(rb) => {
                let room = (max as usize).saturating_sub(self.pending.offsets.len());
                if room == 0 {
                    0
                } else {
                    rb.consume_raw_n(room)
                }
            }
            Consumer::Perf(pb) => return pb.consume().map_err(|e| Error::from_libbpf(&e, "reading perf buffer")),
        };
        if rc < 0 {
            return Err(Error::from_errno(-rc, "reading ring buffer"));
        }
        Ok(())
    }

    fn poll(&mut self, timeout: Duration, max: u32) -> Result<Batch> {
        let deadline = Instant::now() + timeout;
        self.consume(max)?;
        while self.pending.offsets.is_empty() && self.pending.lost == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || crate::engine::interrupted() {
                break;
            }
            // Wait in slices so that Ctrl-C reaches a guest blocked here.
            let slice = left.min(Duration::from_millis(100));
            let mut event = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: a valid epoll fd and one writable event slot.
            let n = unsafe { libc::epoll_wait(self.epoll_fd(), &mut event, 1, slice.as_millis().max(1) as i32) };
            if n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(Error::last_os_error("waiting for events"));
            }
            self.consume(max)?;
        }
        let batch = self.pending.take(max);
        self.total_lost += batch.lost;
        Ok(batch)
    }

    fn has_pending(&self) -> bool {
        !self.pending.offsets.is_empty() || self.pending.lost > 0
    }
}

/// The epoll fd libbpf keeps for a buffer, to be awaited by tokio.
struct EpollFd(RawFd);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

#[async_trait::async_trait]
impl Pollable for EventBuffer {
    async fn ready(&mut self) {
        if self.has_pending() {
            return;
        }
        // SAFETY: the epoll fd belongs to libbpf's buffer, which outlives
        // this future (it borrows the EventBuffer that owns it).
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(EpollFd(self.epoll_fd()), tokio::io::Interest::READABLE)
        };
        match registered {
            Ok(fd) => {
                let _ = fd.readable().await;
            }
            // Cannot wait: report ready so the guest polls and sees the error.
            Err(_) => {}
        }
    }
}

impl crate::bindings::events::Host for BpfCtxView<'_> {}

impl crate::bindings::events::HostEventBuffer for BpfCtxView<'_> {
    fn open(
        &mut self,
        map: Resource<BpfMap>,
        pages_per_cpu: Option<u32>,
    ) -> wasmtime::Result<Result<Resource<EventBuffer>>> {
        let opened = EventBuffer::open(self.table.get(&map)?, pages_per_cpu);
        Ok(match opened {
            Ok(buffer) => Ok(self.table.push(buffer)?),
            Err(e) => Err(e),
        })
    }

    fn kind(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<BufferKind> {
        Ok(self.table.get(&buffer)?.kind())
    }

    fn poll(
        &mut self,
        buffer: Resource<EventBuffer>,
        timeout_ms: u32,
        max_records: u32,
    ) -> wasmtime::Result<Result<Batch>> {
        Ok(self.table.get_mut(&buffer)?.poll(Duration::from_millis(timeout_ms.into()), max_records))
    }

    fn lost(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<u64> {
        let buffer = self.table.get(&buffer)?;
        Ok(buffer.total_lost + buffer.pending.lost)
    }

    fn subscribe(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime_wasi::p2::subscribe(self.table, buffer)
    }

    fn drop(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<()> {
        self.table.delete(buffer)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_splits_a_batch_and_rebases_offsets() {
        let mut p = Pending::default();
        for r in [&b"ab"[..], b"cde", b"f"] {
            p.push(r);
        }
        let first = p.take(2);
        assert_eq!(first.data, b"abcde");
        assert_eq!(first.offsets, vec![0, 2]);
        let rest = p.take(0);
        assert_eq!(rest.data, b"f");
        assert_eq!(rest.offsets, vec![0]);
    }
}
