//! Ring buffers and perf buffers.

use core::marker::PhantomData;
use std::borrow::Cow;

use bytemuck::AnyBitPattern;

use crate::bindings::bpflet::ebpf::events as wit;
use crate::bindings::wasi::io::poll::Pollable;
use crate::{BpfMap, BufferKind, Error, Result};

/// A ring buffer (`BPF_MAP_TYPE_RINGBUF`) or perf buffer
/// (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`) opened for reading.
///
/// Open it before attaching the programs that write to it: a perf buffer
/// drops what is written while no reader is open (a ring buffer keeps it).
pub struct EventBuffer {
    raw: wit::EventBuffer,
}

impl EventBuffer {
    /// Opens `map`, a ring or perf buffer; other map types are
    /// `invalid-argument`. Perf buffers get the host's default size.
    pub fn open(map: &BpfMap) -> Result<Self> {
        Self::open_with_pages(map, None)
    }

    /// Opens `map` with `pages_per_cpu` pages per CPU for a perf buffer
    /// (ignored for a ring buffer, whose size the BPF side fixes).
    pub fn open_with_pages(map: &BpfMap, pages_per_cpu: Option<u32>) -> Result<Self> {
        wit::EventBuffer::open(map, pages_per_cpu).map(|raw| Self { raw })
    }

    /// Ring or perf.
    pub fn kind(&self) -> BufferKind {
        self.raw.kind()
    }

    /// Waits up to `timeout_ms` for records and returns at most
    /// `max_records` of them (0: all that are waiting). An empty batch means
    /// the time ran out.
    pub fn poll(&self, timeout_ms: u32, max_records: u32) -> Result<Batch> {
        Batch::new(self.raw.poll(timeout_ms, max_records)?)
    }

    /// Records the kernel dropped since the buffer was opened.
    pub fn lost(&self) -> u64 {
        self.raw.lost()
    }

    /// Ready when records are waiting: pass it to [`crate::io::poll`] to wait
    /// on this buffer together with others and with timers.
    pub fn subscribe(&self) -> Pollable {
        self.raw.subscribe()
    }

    /// The underlying binding.
    pub fn raw(&self) -> &wit::EventBuffer {
        &self.raw
    }
}

/// The records one [`EventBuffer::poll`] returned.
///
/// All records live back to back in one `Vec<u8>` (one allocation and one
/// copy per poll, not one per record), so a record is a `&[u8]` into it with
/// no alignment guarantee: [`Batch::records`] borrows a `&T` where the bytes
/// happen to be aligned and copies the record where they are not.
pub struct Batch {
    raw: wit::Batch,
    /// The length of the shortest record (usize::MAX when there is none),
    /// found while checking the offsets, so `records` checks in O(1).
    shortest: usize,
}

impl Batch {
    /// Checks the offsets once so that reading records never panics, and
    /// notes the shortest record on the way.
    fn new(raw: wit::Batch) -> Result<Self> {
        let len = raw.data.len();
        let (mut previous, mut shortest) = (0usize, usize::MAX);
        for (index, &offset) in raw.offsets.iter().enumerate() {
            let offset = offset as usize;
            if offset < previous || offset > len {
                return Err(Error::invalid(format!(
                    "host sent record offset {offset} after {previous} in a batch of {len} bytes"
                )));
            }
            if index > 0 {
                shortest = shortest.min(offset - previous);
            }
            previous = offset;
        }
        if !raw.offsets.is_empty() {
            shortest = shortest.min(len - previous);
        }
        Ok(Self { raw, shortest })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.raw.offsets.len()
    }

    /// Whether the poll timed out without records.
    pub fn is_empty(&self) -> bool {
        self.raw.offsets.is_empty()
    }

    /// Records the kernel dropped since the previous poll (perf buffers only;
    /// a ring buffer drops at the producer, where the reserve fails).
    pub fn lost(&self) -> u64 {
        self.raw.lost
    }

    /// Record `index` as bytes.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let start = *self.raw.offsets.get(index)? as usize;
        let end = self.raw.offsets.get(index + 1).map_or(self.raw.data.len(), |&end| end as usize);
        Some(&self.raw.data[start..end])
    }

    /// The records as bytes, in the order the kernel produced them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        // `new` checked the offsets, so every index is in range.
        (0..self.len()).map(|index| self.get(index).unwrap_or_default())
    }

    /// The records as `T`, the struct the BPF program writes:
    /// `for event in batch.records::<Event>()? { ... }`.
    ///
    /// A record may be longer than `T`: perf buffers pad every sample to a
    /// multiple of 8 bytes (counting a 4-byte header), so `T` is read from
    /// the start of the record. A record shorter than `T` means `T` is not
    /// what the program writes: that is an `invalid-argument` error for the
    /// whole batch, checked here so the iteration itself cannot fail.
    pub fn records<T: AnyBitPattern>(&self) -> Result<Records<'_, T>> {
        let size = core::mem::size_of::<T>();
        if self.shortest < size {
            return Err(Error::invalid(format!(
                "record of {} bytes is shorter than {} ({size} bytes)",
                self.shortest,
                core::any::type_name::<T>()
            )));
        }
        let (data, offsets) = self.as_parts();
        Ok(Records { data, offsets, index: 0, _record: PhantomData })
    }

    /// The packed record bytes and the start offset of each record.
    pub fn as_parts(&self) -> (&[u8], &[u32]) {
        (&self.raw.data, &self.raw.offsets)
    }
}

/// The records of a [`Batch`] as `T`; see [`Batch::records`].
pub struct Records<'a, T> {
    data: &'a [u8],
    offsets: &'a [u32],
    index: usize,
    _record: PhantomData<T>,
}

impl<'a, T: AnyBitPattern> Iterator for Records<'a, T> {
    /// Borrowed when the record is aligned for `T`, copied when it is not.
    type Item = Cow<'a, T>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let start = *self.offsets.get(self.index)? as usize;
        self.index += 1;
        // `Batch::records` checked that every record holds a `T`, so this
        // slice is in bounds (`get` keeps the check cheap and panic-free).
        let bytes = self.data.get(start..start + core::mem::size_of::<T>())?;
        Some(match bytemuck::try_from_bytes(bytes) {
            Ok(record) => Cow::Borrowed(record),
            Err(_) => Cow::Owned(bytemuck::pod_read_unaligned(bytes)),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.offsets.len() - self.index;
        (left, Some(left))
    }
}

impl<T: AnyBitPattern> ExactSizeIterator for Records<'_, T> {}

/// A ring buffer read in place: its pages are mapped into this guest's
/// memory (`event-buffer.map-ring`), so a record is read where the BPF
/// program wrote it, with no copy and no host call per batch. This is the
/// fastest way to drain a busy ring buffer; [`EventBuffer::poll`] is the
/// simple one, and works for perf buffers too.
///
/// ```no_run
/// # fn f(obj: &bpflet_sdk::Object) -> bpflet_sdk::Result<()> {
/// let mut ring = bpflet_sdk::RingReader::open(&obj.map("events")?)?;
/// loop {
///     ring.wait(1000);
///     ring.consume(0, |record: &[u8]| println!("{} bytes", record.len()));
/// }
/// # }
/// ```
pub struct RingReader {
    // Dropped first: dropping the buffer puts ordinary memory back under
    // `region`, which may only be freed after that.
    buffer: EventBuffer,
    #[allow(dead_code, reason = "owns the guest memory the ring is mapped into")]
    region: Vec<u8>,
    consumer: *mut u64,
    producer: *const u64,
    data: *const u8,
    mask: u64,
}

/// Header bits of a ring buffer record (the kernel's uapi linux/bpf.h).
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_LEN: u64 = 8;

impl RingReader {
    /// Opens the ring buffer `map` and maps it into guest memory. A perf
    /// buffer is `unsupported` (read it with [`EventBuffer::poll`]).
    pub fn open(map: &BpfMap) -> Result<Self> {
        let buffer = EventBuffer::open(map)?;
        let pages = buffer.raw.map_ring()?;
        let (page, size) = (pages.page_size as usize, pages.size as usize);
        let mut region = pages.region;
        let base = region.as_mut_ptr();
        let at = (base as usize).next_multiple_of(page) - base as usize;
        if !size.is_power_of_two() || at + 2 * page + 2 * size > region.len() {
            return Err(Error::invalid(format!(
                "host mapped a ring of {size} bytes into a region of {} bytes",
                region.len()
            )));
        }
        // SAFETY: in bounds of `region`, checked above.
        let (consumer, producer, data) = unsafe {
            let consumer = base.add(at);
            (consumer.cast::<u64>(), consumer.add(page).cast::<u64>().cast_const(), consumer.add(2 * page).cast_const())
        };
        Ok(Self { buffer, region, consumer, producer, data, mask: size as u64 - 1 })
    }

    /// Calls `f` with each waiting record, at most `max` (0: all that are
    /// there), then hands their space back to the kernel; returns how many.
    /// The slice is only valid during the call.
    #[inline]
    pub fn consume(&mut self, max: usize, mut f: impl FnMut(&[u8])) -> usize {
        self.consume_while(max, |record| {
            f(record);
            true
        })
    }

    /// Like [`RingReader::consume`], with each record read as `T` from its
    /// start (copied if the bytes are not aligned for it). A record shorter
    /// than `T` is an error and stops the loop: the records before it are
    /// consumed, it and the ones after are not.
    #[inline]
    pub fn consume_records<T: AnyBitPattern>(&mut self, max: usize, mut f: impl FnMut(&T)) -> Result<usize> {
        let size = core::mem::size_of::<T>();
        let mut short = None;
        let count = self.consume_while(max, |record| {
            let Some(bytes) = record.get(..size) else {
                short = Some(record.len());
                return false;
            };
            match bytemuck::try_from_bytes(bytes) {
                Ok(record) => f(record),
                Err(_) => f(&bytemuck::pod_read_unaligned(bytes)),
            }
            true
        });
        match short {
            Some(len) => Err(Error::invalid(format!(
                "record of {len} bytes is shorter than {} ({size} bytes)",
                core::any::type_name::<T>()
            ))),
            None => Ok(count),
        }
    }

    /// `consume`, stopping before the first record for which `f` is false.
    #[inline]
    fn consume_while(&mut self, max: usize, mut f: impl FnMut(&[u8]) -> bool) -> usize {
        // SAFETY: as in `consume`.
        unsafe {
            let mut pos = self.consumer.read_volatile();
            let producer = self.producer.read_volatile();
            let mut count = 0;
            let limit = if max == 0 { usize::MAX } else { max };
            while pos < producer && count < limit {
                let header = self.data.add((pos & self.mask) as usize);
                let len = header.cast::<u32>().read_volatile();
                if len & BUSY_BIT != 0 {
                    break;
                }
                let size = len & !(BUSY_BIT | DISCARD_BIT);
                if len & DISCARD_BIT == 0 {
                    if !f(core::slice::from_raw_parts(header.add(HEADER_LEN as usize), size as usize)) {
                        break;
                    }
                    count += 1;
                }
                pos += (u64::from(size) + HEADER_LEN + 7) & !7;
            }
            self.consumer.write_volatile(pos);
            count
        }
    }

    /// Whether a record is waiting.
    pub fn ready(&self) -> bool {
        // SAFETY: as in `consume`.
        unsafe {
            let pos = self.consumer.read_volatile();
            pos < self.producer.read_volatile()
                && self.data.add((pos & self.mask) as usize).cast::<u32>().read_volatile() & BUSY_BIT == 0
        }
    }

    /// Waits up to `timeout_ms` for a record; true if one is waiting.
    pub fn wait(&self, timeout_ms: u32) -> bool {
        if self.ready() {
            return true;
        }
        let records = self.buffer.subscribe();
        let timer = crate::io::timer(core::time::Duration::from_millis(timeout_ms.into()));
        crate::io::poll(&[&records, &timer]);
        self.ready()
    }

    /// Ready when records are waiting, for [`crate::io::poll`].
    pub fn subscribe(&self) -> Pollable {
        self.buffer.subscribe()
    }

    /// The event buffer underneath ([`EventBuffer::poll`] works on it too).
    pub fn buffer(&self) -> &EventBuffer {
        &self.buffer
    }
}
