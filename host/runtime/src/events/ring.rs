//! A BPF ring buffer read in place.
//!
//! Its pages are mapped as libbpf maps them: the consumer page read-write;
//! the producer page and the data area, mapped twice in a row so that no
//! record wraps, read-only. A poll walks the committed records and notes
//! where each one is; the records are then copied once, straight from
//! these pages into guest memory, while the batch is lowered (`lower`),
//! and only then is the consumer position advanced, so the kernel cannot
//! reuse the space before the copy. Positions are read with acquire loads
//! and the consumer position stored with a release store, as libbpf does
//! (`ringbuf.c`) and as the SDKs' ring readers do.

use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use libbpf_rs::MapHandle;

use crate::error::Context;
use crate::{sys, Error};

type Result<T> = std::result::Result<T, Error>;

/// The kernel's ring buffer header bits (uapi linux/bpf.h).
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_LEN: u64 = 8;
/// How far ahead of the record it reads `Ring::scan` fetches the ring.
const PREFETCH_AHEAD: u64 = 2048;

/// Every range of guest memory a ring is mapped over, process-wide (host
/// addresses, start and end). A hostile allocator can hand `map-ring` the
/// same memory twice; mapping a second ring over the first, then dropping
/// either, would give the other's pages back to the guest as writable
/// memory. Stores' memories never share addresses, so one list serves them
/// all.
static MAPPED: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Claims `at..at + len` for a ring, or refuses if any ring holds part of it.
fn claim(at: usize, len: usize) -> Result<()> {
    let mut mapped = MAPPED.lock().unwrap_or_else(|e| e.into_inner());
    if mapped.iter().any(|&(start, end)| at < end && start < at + len) {
        return Err(Error::invalid_argument(
            "the region for the ring buffer overlaps a ring buffer already mapped into guest memory",
        ));
    }
    mapped.push((at, at + len));
    Ok(())
}

/// Gives back a range `claim` took.
fn release(at: usize) {
    let mut mapped = MAPPED.lock().unwrap_or_else(|e| e.into_inner());
    mapped.retain(|&(start, _)| start != at);
}

/// Where the ring's pages are mapped.
enum Pages {
    /// In the host's own mappings; the producer page and data area are
    /// mapped when first read (a guest that reads the ring in place never
    /// needs them).
    Host { consumer: sys::Mapping, producer: Option<sys::Mapping> },
    /// Over guest memory (`map-ring`), at `at` for `len` bytes: the host
    /// reads through the guest's mapping too, so the pages are mapped once
    /// per process.
    Guest { at: NonNull<u8>, len: usize },
}

pub(super) struct Ring {
    map: MapHandle,
    pub(super) page: usize,
    /// The data area's size: a power of two.
    pub(super) size: usize,
    pages: Pages,
    /// Where each record of the scanned batch is: (offset of its payload in
    /// the data area, length).
    spans: Vec<(u64, u32)>,
    /// The offset of each record in the batch's data list.
    pub(super) offsets: Vec<u32>,
    /// Total payload bytes of the scanned batch, and the consumer position
    /// after it.
    pub(super) batch_bytes: usize,
    batch_end: u64,
    /// Waits for the ring's fd.
    pub(super) epoll: sys::Epoll,
}

// SAFETY: the Ring owns its host mappings, and the guest mapping's address
// is only used by the thread that holds the Ring (the store's); reads of
// the positions and headers are atomic.
unsafe impl Send for Ring {}
// SAFETY: as above.
unsafe impl Sync for Ring {}

impl Ring {
    /// Maps the consumer page of the ring buffer `map`.
    pub(super) fn open(map: MapHandle, name: &str, size: usize) -> Result<Self> {
        let page = sys::page_size();
        if !size.is_power_of_two() || !size.is_multiple_of(page) {
            return Err(Error::invalid_argument(format!(
                "ring buffer {name:?} has size {size}, not a power-of-two multiple of the page size"
            )));
        }
        let consumer = sys::Mapping::shared(map.as_fd(), page, 0, true)
            .with_context(|| "mapping the ring buffer's consumer page")?;
        let epoll = sys::Epoll::on(map.as_fd()).with_context(|| format!("waiting on ring buffer {name:?}"))?;
        Ok(Ring {
            map,
            page,
            size,
            pages: Pages::Host { consumer, producer: None },
            spans: Vec::new(),
            offsets: Vec::new(),
            batch_bytes: 0,
            batch_end: 0,
            epoll,
        })
    }

    /// The consumer page and the producer page (mapping the latter if it
    /// is not yet).
    fn pages(&mut self) -> Result<(*mut u8, *const u8)> {
        match &mut self.pages {
            Pages::Host { consumer, producer } => {
                if producer.is_none() {
                    let mapped = sys::Mapping::shared(self.map.as_fd(), self.page + 2 * self.size, self.page, false)
                        .with_context(|| "mapping the ring buffer's data pages")?;
                    *producer = Some(mapped);
                }
                let producer = producer.as_ref().map_or(std::ptr::null(), |p| p.as_ptr().cast_const());
                Ok((consumer.as_ptr(), producer))
            }
            Pages::Guest { at, .. } => {
                let at = at.as_ptr();
                // SAFETY: the guest mapping is the consumer page, then the
                // producer page (see `map_into`).
                Ok((at, unsafe { at.add(self.page) }.cast_const()))
            }
        }
    }

    fn consumer_pos(consumer: *mut u8) -> u64 {
        // SAFETY: the consumer page is mapped for the Ring's life; its
        // first 8 bytes are the consumer position, 8-byte aligned at the
        // page start.
        unsafe { &*consumer.cast::<AtomicU64>() }.load(Ordering::Acquire)
    }

    fn set_consumer_pos(consumer: *mut u8, pos: u64) {
        // SAFETY: as for `consumer_pos`.
        unsafe { &*consumer.cast::<AtomicU64>() }.store(pos, Ordering::Release);
    }

    fn producer_pos(producer: *const u8) -> u64 {
        // SAFETY: as above, for the producer page.
        unsafe { &*producer.cast::<AtomicU64>() }.load(Ordering::Acquire)
    }

    /// The header of the record at position `pos`.
    fn header(&self, producer: *const u8, pos: u64) -> u32 {
        let offset = (pos & (self.size as u64 - 1)) as usize;
        // SAFETY: the data area starts one page after the producer page and
        // `offset` is inside it; headers are 8-byte aligned; the kernel
        // writes them atomically.
        unsafe { &*producer.add(self.page + offset).cast::<AtomicU32>() }.load(Ordering::Acquire)
    }

    /// Asks the CPU for the cache line of the ring at position `pos` (a
    /// hint: it never faults). Each header says where the next record is,
    /// so a ring walk waits out one memory latency per record, a cache line
    /// the producer's CPU wrote; fetching ahead overlaps them.
    #[inline(always)]
    fn prefetch(&self, producer: *const u8, pos: u64) {
        // Inside the data area, as a header's offset.
        let offset = (pos & (self.size as u64 - 1)) as usize;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch reads nothing the program can see, and the
        // address is inside the mapping (see above).
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                producer.add(self.page + offset).cast(),
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (producer, offset);
    }

    /// Whether the consumer position `pos` can be read from, given the
    /// producer position `end`: a guest that mapped the ring writes the
    /// consumer position, and the host reads headers where it points.
    fn sane(&self, pos: u64, end: u64) -> bool {
        pos.is_multiple_of(8) && pos <= end && end - pos <= self.size as u64
    }

    fn corrupt(&self) -> Error {
        Error::invalid_state(format!(
            "the ring buffer's consumer position or a record header is not the kernel's: \
             a record boundary at most {} bytes behind the producer",
            self.size
        ))
    }

    /// Notes up to `max` committed records (all when 0) as the next batch;
    /// true when there is something to hand over (records, or discarded
    /// ones to skip).
    pub(super) fn scan(&mut self, max: u32) -> Result<bool> {
        let (consumer, producer) = self.pages()?;
        self.spans.clear();
        self.offsets.clear();
        let mut bytes = 0usize;
        let start = Self::consumer_pos(consumer);
        let mut pos = start;
        let end = Self::producer_pos(producer);
        if !self.sane(start, end) {
            return Err(self.corrupt());
        }
        let mask = self.size as u64 - 1;
        while pos < end && (max == 0 || self.spans.len() < max as usize) {
            self.prefetch(producer, pos + PREFETCH_AHEAD);
            let header = self.header(producer, pos);
            if header & BUSY_BIT != 0 {
                break;
            }
            let len = header & !(BUSY_BIT | DISCARD_BIT);
            // A record lies between its position and the producer's.
            if u64::from(len) + HEADER_LEN > end - pos {
                return Err(self.corrupt());
            }
            if header & DISCARD_BIT == 0 {
                self.spans.push(((pos & mask) + HEADER_LEN, len));
                self.offsets.push(bytes as u32);
                bytes += len as usize;
            }
            pos += (u64::from(len) + HEADER_LEN + 7) & !7;
        }
        self.batch_bytes = bytes;
        self.batch_end = pos;
        Ok(!self.spans.is_empty() || pos != start)
    }

    /// Whether a committed record (or a discarded one to skip) is waiting
    /// (or the ring cannot be read, which a poll will then report).
    pub(super) fn ready(&mut self) -> bool {
        let Ok((consumer, producer)) = self.pages() else {
            return true;
        };
        let (pos, end) = (Self::consumer_pos(consumer), Self::producer_pos(producer));
        // Not where the kernel would put it: ready, so that a poll reports it.
        if !self.sane(pos, end) {
            return true;
        }
        pos < end && self.header(producer, pos) & BUSY_BIT == 0
    }

    /// Copies the scanned batch's records to `dst` (`batch_bytes` long).
    pub(super) fn copy_batch(&mut self, dst: &mut [u8]) -> Result<()> {
        let (_, producer) = self.pages()?;
        for (&(at, len), &offset) in self.spans.iter().zip(&self.offsets) {
            // SAFETY: the span lies inside the double-mapped data area, one
            // page after the producer page: `scan` checked that the record
            // ends before the producer position, at most the ring's size
            // after its start, and the area is mapped twice.
            let src = unsafe { std::slice::from_raw_parts(producer.add(self.page + at as usize), len as usize) };
            dst[offset as usize..offset as usize + len as usize].copy_from_slice(src);
        }
        Ok(())
    }

    /// Hands the scanned batch's space back to the kernel.
    pub(super) fn release_batch(&mut self) {
        if let Ok((consumer, _)) = self.pages() {
            Self::set_consumer_pos(consumer, self.batch_end);
        }
        self.spans.clear();
        self.offsets.clear();
        self.batch_bytes = 0;
    }

    /// Whether `map_into` mapped the ring into guest memory.
    pub(super) fn is_shared(&self) -> bool {
        matches!(self.pages, Pages::Guest { .. })
    }

    /// Bytes of guest memory `map_into` needs: the consumer and producer
    /// pages and the double data area, plus a page to align them.
    pub(super) fn region_len(&self) -> usize {
        3 * self.page + 2 * self.size
    }

    /// Maps the ring's pages over guest memory at the first page boundary
    /// in `region` (host addresses), which `region_len` bytes must cover.
    ///
    /// # Safety
    /// `region` must be guest linear memory that the guest allocated for
    /// this and that stays mapped until this Ring is dropped (the store
    /// drops its data, and so this Ring, before its memories).
    pub(super) unsafe fn map_into(&mut self, region: &mut [u8]) -> Result<()> {
        if self.is_shared() {
            return Err(Error::invalid_state("the ring buffer is already mapped into guest memory"));
        }
        let start = region.as_mut_ptr() as usize;
        let at = start.next_multiple_of(self.page);
        let len = 2 * self.page + 2 * self.size;
        if at + len > start + region.len() {
            return Err(Error::invalid_argument("guest region too small for the ring buffer"));
        }
        let at = NonNull::new(at as *mut u8).ok_or_else(|| Error::invalid_argument("guest region at NULL"))?;
        claim(at.as_ptr() as usize, len)?;
        let context = "mapping the ring buffer into guest memory";
        // SAFETY: `at..at + len` lies in `region`, guest memory the guest
        // allocated for this (the caller's contract).
        let consumer = unsafe { sys::Mapping::shared_over(at, self.page, self.map.as_fd(), 0, true) };
        if let Err(error) = consumer {
            release(at.as_ptr() as usize);
            return Err(Error::from(error).context(context));
        }
        // SAFETY: as above; one page on.
        let producer_at = unsafe { at.add(self.page) };
        // SAFETY: as above.
        let mapped = unsafe {
            sys::Mapping::shared_over(producer_at, self.page + 2 * self.size, self.map.as_fd(), self.page, false)
        };
        if let Err(error) = mapped {
            // SAFETY: the consumer page mapped just above.
            unsafe { sys::restore_anonymous(at, self.page) };
            release(at.as_ptr() as usize);
            return Err(Error::from(error).context(context));
        }
        // From now on the host reads the ring through the guest's mapping
        // too (dropping the host's mappings here).
        self.pages = Pages::Guest { at, len };
        Ok(())
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if let Pages::Guest { at, len } = self.pages {
            // SAFETY: the range `map_into` mapped; putting ordinary memory
            // back is the unmapping.
            unsafe { sys::restore_anonymous(at, len) };
            release(at.as_ptr() as usize);
        }
    }
}
