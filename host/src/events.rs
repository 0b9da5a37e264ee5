//! `bpflet:ebpf/events`: records from ring buffers and perf buffers,
//! handed to the guest in batches (one byte list plus offsets).
//!
//! Ring buffers are read in place: a record is copied once, from the
//! kernel's pages straight into guest memory, with no allocation per record
//! or per batch on the host. Perf buffers go through libbpf's callbacks
//! into one growing host buffer first (two copies).

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use libbpf_rs::{MapHandle, PerfBuffer, PerfBufferBuilder};
use wasmtime::component::Resource;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use crate::bindings::events::{Batch, BufferKind, RingPages};
use crate::bindings::maps::MapType;
use crate::maps::BpfMap;
use crate::types::Error;
use crate::BpfCtxView;

mod lower;
pub use lower::add_fast_poll;
use lower::{BatchData, BatchOffsets, FastBatch};

type Result<T> = std::result::Result<T, Error>;

/// Records received but not yet handed to the guest (perf buffers: libbpf
/// hands each record to a callback, which appends it here).
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
    fn take(&mut self, max: u32) -> (Vec<u8>, Vec<u32>, u64) {
        let lost = std::mem::take(&mut self.lost);
        if max == 0 || self.offsets.len() <= max as usize {
            // The batch takes the buffers; the next ones start at the size
            // these reached, so steady polling does not regrow them.
            let (data_len, count) = (self.data.len(), self.offsets.len());
            let data = std::mem::replace(&mut self.data, Vec::with_capacity(data_len));
            let offsets = std::mem::replace(&mut self.offsets, Vec::with_capacity(count));
            return (data, offsets, lost);
        }
        let split = self.offsets[max as usize];
        let data = self.data.drain(..split as usize).collect();
        let offsets = self.offsets.drain(..max as usize).collect();
        for offset in &mut self.offsets {
            *offset -= split;
        }
        (data, offsets, lost)
    }

    fn is_empty(&self) -> bool {
        self.offsets.is_empty() && self.lost == 0
    }
}

/// The kernel's ring buffer header bits (uapi linux/bpf.h).
const RINGBUF_BUSY_BIT: u32 = 1 << 31;
const RINGBUF_DISCARD_BIT: u32 = 1 << 30;
const RINGBUF_HDR_SZ: u64 = 8;

/// A BPF ring buffer read in place: its pages are mapped as libbpf maps
/// them (the consumer page read-write; the producer page and the data area,
/// mapped twice in a row so no record wraps, read-only). A poll walks the
/// committed records and notes where each one is; the records are then
/// copied once, straight from these pages into guest memory, while the
/// batch is lowered (see `lower`), and only then is the consumer position
/// advanced, so the kernel cannot reuse the space before the copy.
struct Ring {
    consumer: *mut u8,
    producer: *mut u8,
    page: usize,
    size: usize,
    /// Where each record of the scanned batch is: (offset of its payload in
    /// `data`, length).
    spans: Vec<(u64, u32)>,
    /// The offset of each record in the batch's data list.
    offsets: Vec<u32>,
    /// Total payload bytes of the scanned batch, and the consumer position
    /// after it.
    batch_bytes: usize,
    batch_end: u64,
    /// Waits for the ring's fd.
    epoll: OwnedFd,
    /// The map's fd (owned by the EventBuffer's MapHandle, which the guest
    /// cannot drop, unlike its bpf-map).
    fd: RawFd,
    /// Where `map-ring` mapped the pages into guest memory (host address,
    /// length), to put anonymous memory back when the buffer is dropped.
    shared: Option<(usize, usize)>,
}

// SAFETY: the pointers are mappings owned by this struct; nothing else
// aliases them in this process.
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

impl Ring {
    /// Maps the ring of `map`, open as `fd` (which must stay open as long
    /// as the Ring).
    fn open(map: &BpfMap, fd: RawFd) -> Result<Self> {
        let size = map.info().max_entries as usize;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        if !size.is_power_of_two() || !size.is_multiple_of(page) {
            return Err(Error::invalid_argument(format!(
                "ring buffer {:?} has size {size}, not a power-of-two multiple of the page size",
                map.info().name
            )));
        }
        // SAFETY: mapping a ring buffer map fd as the kernel documents it;
        // the results are checked and unmapped in Drop.
        let consumer = unsafe {
            libc::mmap(std::ptr::null_mut(), page, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0)
        };
        if consumer == libc::MAP_FAILED {
            return Err(Error::last_os_error("mapping the ring buffer's consumer page"));
        }
        let ring = Ring {
            consumer: consumer.cast(),
            // Mapped when first read (`map_pages`): a guest that reads the
            // ring in place never needs the host's own mapping.
            producer: std::ptr::null_mut(),
            page,
            size,
            spans: Vec::new(),
            offsets: Vec::new(),
            batch_bytes: 0,
            batch_end: 0,
            // SAFETY: epoll_create1 has no preconditions; checked below.
            epoll: unsafe { OwnedFd::from_raw_fd(epoll_create(&map.info().name)?) },
            shared: None,
            fd,
        };
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 0 };
        // SAFETY: valid fds and a valid event.
        if unsafe { libc::epoll_ctl(ring.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(Error::last_os_error("waiting on the ring buffer"));
        }
        Ok(ring)
    }

    /// Maps the producer page and the data area for the host's own reads.
    fn map_pages(&mut self) -> Result<()> {
        if self.producer.is_null() {
            // SAFETY: mapping a ring buffer map fd as the kernel documents
            // it; unmapped in Drop or `map_into`.
            let producer = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    self.page + 2 * self.size,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    self.fd,
                    self.page as i64,
                )
            };
            if producer == libc::MAP_FAILED {
                return Err(Error::last_os_error("mapping the ring buffer's data pages"));
            }
            self.producer = producer.cast();
        }
        Ok(())
    }

    fn consumer_pos(&self) -> &AtomicU64 {
        // SAFETY: the consumer page is mapped for our lifetime and its first
        // 8 bytes are the consumer position (8-byte aligned: page start).
        unsafe { &*self.consumer.cast::<AtomicU64>() }
    }

    fn producer_pos(&self) -> &AtomicU64 {
        // SAFETY: as above, for the producer page.
        unsafe { &*self.producer.cast::<AtomicU64>() }
    }

    fn data(&self) -> *const u8 {
        // SAFETY: the data area starts one page into the producer mapping.
        unsafe { self.producer.add(self.page) }
    }

    /// The header of the record at position `pos`.
    fn header(&self, pos: u64) -> u32 {
        let offset = (pos & (self.size as u64 - 1)) as usize;
        // SAFETY: `offset` is inside the data area; headers are 8-byte
        // aligned; the kernel writes them atomically (acquire, as libbpf).
        unsafe { (*self.data().add(offset).cast::<AtomicU32>()).load(Ordering::Acquire) }
    }

    /// Notes up to `max` committed records (all when 0) as the next batch.
    fn scan(&mut self, max: u32) -> Result<()> {
        self.map_pages()?;
        self.spans.clear();
        self.offsets.clear();
        let mut bytes = 0usize;
        let mut pos = self.consumer_pos().load(Ordering::Acquire);
        let producer = self.producer_pos().load(Ordering::Acquire);
        let mask = self.size as u64 - 1;
        while pos < producer && (max == 0 || self.spans.len() < max as usize) {
            let header = self.header(pos);
            if header & RINGBUF_BUSY_BIT != 0 {
                break;
            }
            let len = header & !(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
            if header & RINGBUF_DISCARD_BIT == 0 {
                self.spans.push(((pos & mask) + RINGBUF_HDR_SZ, len));
                self.offsets.push(bytes as u32);
                bytes += len as usize;
            }
            pos += (u64::from(len) + RINGBUF_HDR_SZ + 7) & !7;
        }
        self.batch_bytes = bytes;
        self.batch_end = pos;
        Ok(())
    }

    /// Whether a committed record (or a discarded one to skip) is waiting
    /// (or the ring cannot be read, which a poll will then report).
    fn ready(&mut self) -> bool {
        if self.map_pages().is_err() {
            return true;
        }
        let pos = self.consumer_pos().load(Ordering::Acquire);
        pos < self.producer_pos().load(Ordering::Acquire) && self.header(pos) & RINGBUF_BUSY_BIT == 0
    }

    /// Copies the scanned batch's records to `dst` (`batch_bytes` long).
    fn copy_batch(&self, dst: &mut [u8]) {
        let data = self.data();
        for (&(at, len), &offset) in self.spans.iter().zip(&self.offsets) {
            // SAFETY: the span lies inside the double-mapped data area (a
            // record is at most the ring's size long).
            let src = unsafe { std::slice::from_raw_parts(data.add(at as usize), len as usize) };
            dst[offset as usize..offset as usize + len as usize].copy_from_slice(src);
        }
    }

    /// Hands the scanned batch's space back to the kernel.
    fn release_batch(&mut self) {
        self.consumer_pos().store(self.batch_end, Ordering::Release);
        self.spans.clear();
        self.offsets.clear();
        self.batch_bytes = 0;
    }
}

impl Ring {
    /// Bytes of guest memory `map_into` needs: the consumer and producer
    /// pages and the double data area, plus a page to align them.
    fn region_len(&self) -> usize {
        3 * self.page + 2 * self.size
    }

    /// Maps the ring's pages over guest memory at the first page boundary
    /// in `region` (host addresses), which `region_len` bytes must cover.
    ///
    /// # Safety
    /// `region` must be guest linear memory that stays mapped until this
    /// Ring is dropped (the store drops its data, and so this Ring, before
    /// its memories).
    unsafe fn map_into(&mut self, region: &mut [u8]) -> Result<()> {
        if self.shared.is_some() {
            return Err(Error::invalid_state("the ring buffer is already mapped into guest memory"));
        }
        let start = region.as_mut_ptr() as usize;
        let at = start.next_multiple_of(self.page);
        let len = 2 * self.page + 2 * self.size;
        if at + len > start + region.len() {
            return Err(Error::invalid_argument("guest region too small for the ring buffer"));
        }
        let flags = libc::MAP_SHARED | libc::MAP_FIXED;
        // SAFETY: replaces pages of guest memory the guest allocated for
        // this (the caller's contract) with the ring's, as in `open`.
        let consumer =
            unsafe { libc::mmap(at as *mut _, self.page, libc::PROT_READ | libc::PROT_WRITE, flags, self.fd, 0) };
        if consumer == libc::MAP_FAILED {
            return Err(Error::last_os_error("mapping the ring buffer into guest memory"));
        }
        // SAFETY: as above.
        let producer = unsafe {
            libc::mmap(
                (at + self.page) as *mut _,
                self.page + 2 * self.size,
                libc::PROT_READ,
                flags,
                self.fd,
                self.page as i64,
            )
        };
        if producer == libc::MAP_FAILED {
            let err = Error::last_os_error("mapping the ring buffer into guest memory");
            restore_anonymous(at, self.page);
            return Err(err);
        }
        self.shared = Some((at, len));
        // From now on the host reads the ring through the guest's mapping
        // too: one mapping of the ring's pages per process, not two (the
        // pages are the same, but each mapping counts in the RSS).
        // SAFETY: the host's own mappings, no longer used.
        unsafe {
            libc::munmap(self.consumer.cast(), self.page);
            if !self.producer.is_null() {
                libc::munmap(self.producer.cast(), self.page + 2 * self.size);
            }
        }
        self.consumer = at as *mut u8;
        self.producer = (at + self.page) as *mut u8;
        Ok(())
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if let Some((at, len)) = self.shared {
            // The ring's only mapping is in guest memory (see `map_into`):
            // replacing it is the unmapping.
            restore_anonymous(at, len);
            return;
        }
        // SAFETY: mapped in `open` and `map_pages` with these lengths.
        unsafe {
            libc::munmap(self.consumer.cast(), self.page);
            if !self.producer.is_null() {
                libc::munmap(self.producer.cast(), self.page + 2 * self.size);
            }
        }
    }
}

/// Puts ordinary zeroed memory back at `at..at + len` in guest memory,
/// where `Ring::map_into` mapped the ring.
fn restore_anonymous(at: usize, len: usize) {
    // SAFETY: guest memory outlives the Ring (see `map_into`), and this
    // range is inside the guest's allocation that the ring was mapped over.
    let restored = unsafe {
        libc::mmap(
            at as *mut _,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if restored == libc::MAP_FAILED {
        // Leaving the ring's pages in guest memory could let the guest see
        // (read-only) or corrupt later records; memory is so short that
        // nothing sensible can go on.
        eprintln!("bpflet: cannot restore guest memory under a ring buffer: {}", std::io::Error::last_os_error());
        std::process::abort();
    }
}

fn epoll_create(what: &str) -> Result<RawFd> {
    // SAFETY: no preconditions.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os_error(&format!("creating an epoll fd for {what:?}")));
    }
    Ok(fd)
}

enum Consumer {
    Ring(Ring),
    Perf {
        perf: PerfBuffer<'static>,
        /// Written by libbpf's callbacks through a raw pointer, so it lives
        /// in a Box whose address never changes; declared after `perf` so
        /// the callbacks are gone before it is freed.
        pending: Box<Pending>,
    },
}

pub struct EventBuffer {
    consumer: Consumer,
    total_lost: u64,
    /// Keeps the map open for as long as the buffer reads it.
    _map: MapHandle,
}

struct SendPtr(*mut Pending);
// SAFETY: the pointer is only dereferenced by callbacks that run inside
// calls on the EventBuffer that owns the pointee, on whichever thread holds it.
unsafe impl Send for SendPtr {}

impl EventBuffer {
    fn open(map: &BpfMap, pages_per_cpu: Option<u32>) -> Result<Self> {
        let handle = MapHandle::from_map_id(map.info().id).map_err(|e| Error::from_libbpf(&e, "reopening map"))?;
        let consumer = match map.info().map_type {
            MapType::Ringbuf => Consumer::Ring(Ring::open(map, handle.as_fd().as_raw_fd())?),
            MapType::PerfEventArray => {
                let pages = pages_per_cpu.unwrap_or(64) as usize;
                if !pages.is_power_of_two() {
                    return Err(Error::invalid_argument(format!("pages-per-cpu must be a power of two, got {pages}")));
                }
                let mut pending = Box::<Pending>::default();
                let ptr = SendPtr(&mut *pending);
                let lost_ptr = SendPtr(ptr.0);
                let perf = PerfBufferBuilder::new(&handle)
                    .pages(pages)
                    .sample_cb(move |_cpu, record: &[u8]| {
                        // SAFETY: see SendPtr; the Box outlives the perf buffer.
                        unsafe { (*ptr.0).push(record) }
                    })
                    .lost_cb(move |_cpu, count| {
                        // SAFETY: as above.
                        unsafe { (*lost_ptr.0).lost += count }
                    })
                    .build()
                    .map_err(|e| Error::from_libbpf(&e, "opening perf buffer"))?;
                Consumer::Perf { perf, pending }
            }
            other => {
                return Err(Error::invalid_argument(format!(
                    "map {:?} is a {other:?} map; events need a ringbuf or perf-event-array map",
                    map.info().name
                )));
            }
        };
        Ok(EventBuffer { consumer, total_lost: 0, _map: handle })
    }

    fn kind(&self) -> BufferKind {
        match self.consumer {
            Consumer::Ring(_) => BufferKind::Ring,
            Consumer::Perf { .. } => BufferKind::Perf,
        }
    }

    fn epoll_fd(&self) -> RawFd {
        match &self.consumer {
            Consumer::Ring(ring) => ring.epoll.as_raw_fd(),
            Consumer::Perf { perf, .. } => perf.epoll_fd(),
        }
    }

    /// Gathers what the kernel has, at most `max` ring records; true when
    /// there is something to hand over.
    fn gather(&mut self, max: u32) -> Result<bool> {
        match &mut self.consumer {
            Consumer::Ring(ring) => {
                ring.scan(max)?;
                Ok(!ring.spans.is_empty() || ring.batch_end != ring.consumer_pos().load(Ordering::Relaxed))
            }
            Consumer::Perf { perf, pending } => {
                perf.consume().map_err(|e| Error::from_libbpf(&e, "reading perf buffer"))?;
                Ok(!pending.is_empty())
            }
        }
    }

    /// Waits up to `timeout` for records, then describes the batch; the
    /// records are copied into the guest when it is lowered.
    fn poll(&mut self, timeout: Duration, max: u32) -> Result<FastBatch> {
        let deadline = Instant::now() + timeout;
        while !self.gather(max)? {
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
        }
        Ok(match &mut self.consumer {
            Consumer::Ring(ring) => FastBatch {
                data: BatchData::Ring(&raw mut *ring),
                offsets: BatchOffsets::Ring(&raw const *ring),
                lost: 0,
            },
            Consumer::Perf { pending, .. } => {
                let (data, offsets, lost) = pending.take(max);
                self.total_lost += lost;
                FastBatch { data: BatchData::Owned(data), offsets: BatchOffsets::Owned(offsets), lost }
            }
        })
    }

    /// The ring `map-ring` is to map, checked before anything is allocated.
    fn ring_to_share(&mut self) -> Result<&mut Ring> {
        match &mut self.consumer {
            Consumer::Ring(ring) if ring.shared.is_some() => {
                Err(Error::invalid_state("the ring buffer is already mapped into guest memory"))
            }
            Consumer::Ring(ring) if ring.region_len() > u32::MAX as usize => Err(Error::Unsupported(format!(
                "a ring buffer of {} bytes does not fit in 32-bit guest memory twice",
                ring.size
            ))),
            Consumer::Ring(ring) => Ok(ring),
            Consumer::Perf { .. } => {
                Err(Error::Unsupported("map-ring maps ring buffers; a perf buffer is read with poll".into()))
            }
        }
    }

    fn has_pending(&mut self) -> bool {
        match &mut self.consumer {
            Consumer::Ring(ring) => ring.ready(),
            Consumer::Perf { pending, .. } => !pending.is_empty(),
        }
    }

    fn pending_lost(&self) -> u64 {
        match &self.consumer {
            Consumer::Ring(_) => 0,
            Consumer::Perf { pending, .. } => pending.lost,
        }
    }
}

/// The epoll fd of a buffer, to be awaited by tokio.
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
        // SAFETY: the epoll fd belongs to the buffer, which outlives
        // this future (it borrows the EventBuffer that owns it).
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(EpollFd(self.epoll_fd()), tokio::io::Interest::READABLE)
        };
        // If it cannot wait, it reports ready, so the guest polls and sees
        // the error.
        if let Ok(fd) = registered {
            let _ = fd.readable().await;
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
        // Linked in place of this by `add_fast_poll`, which lowers the batch
        // without building it on the host first; this is the same poll
        // with the batch built, for hosts that use the bindings alone.
        let buffer = self.table.get_mut(&buffer)?;
        Ok(buffer.poll(Duration::from_millis(timeout_ms.into()), max_records).map(FastBatch::into_owned))
    }

    fn map_ring(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<Result<RingPages>> {
        // Linked in place of this by `add_fast_poll`: mapping needs the
        // address of the guest memory the result is lowered into, which
        // only a hand-written lowering sees.
        self.table.get(&buffer)?;
        Ok(Err(Error::Unsupported(
            "map-ring needs the fast event functions bpflet links (events::add_fast_poll)".into(),
        )))
    }

    fn lost(&mut self, buffer: Resource<EventBuffer>) -> wasmtime::Result<u64> {
        let buffer = self.table.get(&buffer)?;
        Ok(buffer.total_lost + buffer.pending_lost())
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
        let (data, offsets, _) = p.take(2);
        assert_eq!(data, b"abcde");
        assert_eq!(offsets, vec![0, 2]);
        let (data, offsets, _) = p.take(0);
        assert_eq!(data, b"f");
        assert_eq!(offsets, vec![0]);
    }
}
