//! Ring buffers and perf buffers.

use core::cell::{Cell, OnceCell};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

    /// Where each record lies in the packed bytes ([`Batch::as_parts`]),
    /// as (offset, length), in the order the kernel produced them.
    pub fn spans(&self) -> impl ExactSizeIterator<Item = (u32, u32)> + '_ {
        let offsets = &self.raw.offsets;
        let len = self.raw.data.len() as u32;
        // `new` checked that the offsets rise and stay within the data.
        (0..offsets.len()).map(move |i| (offsets[i], offsets.get(i + 1).copied().unwrap_or(len) - offsets[i]))
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
        let size = size_of::<T>();
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
        let bytes = self.data.get(start..start + size_of::<T>())?;
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
/// program wrote it, with no copy and no host call per record or per batch.
/// This is the fastest way to drain a busy ring buffer;
/// [`EventBuffer::poll`] is the simple one, and works for perf buffers too.
///
/// `map-ring` is a grant (`bpflet run --allow map-ring`): without it the
/// reader polls instead, up to [`POLL_BATCH`](Self::POLL_BATCH) records at
/// a time, behind the same calls ([`in_place`](Self::in_place) says which).
///
/// Read records one at a time with [`next`](Self::next), then hand their
/// space back to the kernel with [`release`](Self::release):
///
/// ```no_run
/// # fn f(obj: &bpflet_sdk::Object) -> bpflet_sdk::Result<()> {
/// let mut ring = bpflet_sdk::RingReader::open(&obj.map("events")?)?;
/// loop {
///     ring.wait(1000);
///     while let Some(record) = ring.next() {
///         println!("{} bytes", record.len());
///     }
///     ring.release();
/// }
/// # }
/// ```
///
/// or let [`consume`](Self::consume) (bytes) or
/// [`consume_records`](Self::consume_records) (`T`s) do both:
///
/// ```no_run
/// # fn f(ring: &mut bpflet_sdk::RingReader) {
/// ring.consume(0, |record: &[u8]| println!("{} bytes", record.len()));
/// # }
/// ```
///
/// Records stay where they are, and valid, until `release`: release after
/// each batch, or the producer finds the ring full. The borrow checker
/// holds you to it, since `next` borrows the reader and `release` takes it
/// mutably. In place, a record is the ring's read-only memory, and its
/// payload is 8-byte aligned (polled ones are packed by their length).
/// Polling, `next` and `consume` stop at the end of a batch (up to
/// [`POLL_BATCH`](Self::POLL_BATCH) records) until `release`, after which
/// the next call polls again.
///
/// In place, the producer position and each record's header are read with
/// acquire loads and the consumer position is written with a release
/// store, as libbpf does, so a record's bytes are complete once its header
/// says so.
pub struct RingReader {
    // Dropped first: dropping the buffer puts ordinary memory back under
    // a mapped ring's region, which may only be freed after that.
    buffer: EventBuffer,
    source: Source,
}

/// Where a [`RingReader`] reads.
enum Source {
    /// The ring's pages in guest memory.
    Mapped {
        #[allow(dead_code, reason = "owns the guest memory the ring is mapped into")]
        region: Vec<u8>,
        /// The consumer page's position, the only one this side writes.
        consumer: NonNull<AtomicU64>,
        cursor: Cell<Cursor>,
    },
    /// `map-ring` not granted: one polled batch at a time, polled by the
    /// first `next` after a `release` that finished the last one. `failed`
    /// keeps the error of a poll that failed, for `take_error`.
    Polled { batch: OnceCell<Batch>, next: Cell<usize>, failed: Cell<Option<Error>> },
}

/// Header bits of a ring buffer record (the kernel's uapi linux/bpf.h).
const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HEADER_LEN: u64 = 8;
/// How far ahead of the record it reads a walk touches the ring.
const AHEAD: u64 = 2048;

/// Where reading is: what [`RingReader::next`] reads and advances. A loop
/// over records copies it into a local (see `consume_while`), so that the
/// compiler keeps it in registers: each acquire load would otherwise make it
/// load the reader's fields again for the next record.
#[derive(Clone, Copy)]
struct Cursor {
    /// The producer page's position, written by the kernel.
    producer: NonNull<AtomicU64>,
    /// The data area: `mask + 1` bytes mapped twice in a row.
    data: NonNull<u8>,
    mask: u64,
    /// Where the next record starts (the consumer position once released).
    pos: u64,
    /// The producer position last read.
    end: u64,
}

impl Cursor {
    /// The address of the record at `pos` and its header's first word
    /// (length, busy and discard bits), read with an acquire load.
    #[inline(always)]
    fn header(&self, pos: u64) -> (*const u8, u32) {
        // SAFETY: `pos & mask` is inside the data area (`RingReader::open`
        // checked it is mapped) and a multiple of 8, as records start 8-byte
        // aligned in a page-aligned area: aligned for the atomic.
        unsafe {
            let header = self.data.as_ptr().add((pos & self.mask) as usize).cast_const();
            (header, (*header.cast::<AtomicU32>()).load(Ordering::Acquire))
        }
    }

    /// The next submitted record, as the address and length of its payload,
    /// skipping discarded ones; `None` when there is none yet.
    #[inline(always)]
    fn next(&mut self) -> Option<(*const u8, usize)> {
        loop {
            let pos = self.pos;
            if pos >= self.end {
                // SAFETY: in bounds and aligned (checked by `open`); the
                // kernel writes it, hence the atomic.
                self.end = unsafe { self.producer.as_ref() }.load(Ordering::Acquire);
                if pos >= self.end {
                    return None;
                }
            }
            let (header, len) = self.header(pos);
            if len & BUSY_BIT != 0 {
                return None;
            }
            // Each header says where the next is, so the loads of a walk
            // cannot overlap; WebAssembly has no prefetch. A plain load
            // 2 KiB ahead brings that line in while this record is read.
            // SAFETY: inside the data area (masked), which is mapped.
            unsafe { self.data.as_ptr().add(((pos + AHEAD) & self.mask) as usize).read_volatile() };
            let size = len & !(BUSY_BIT | DISCARD_BIT);
            self.pos = pos + ((u64::from(size) + HEADER_LEN + 7) & !7);
            if len & DISCARD_BIT == 0 {
                // SAFETY: the header is followed by its payload, in the data
                // area (see `RingReader::next`).
                return Some((unsafe { header.add(HEADER_LEN as usize) }, size as usize));
            }
        }
    }

    /// Whether a record is waiting at `pos`.
    #[inline]
    fn ready(&self) -> bool {
        // SAFETY: as in `next`.
        let end = unsafe { self.producer.as_ref() }.load(Ordering::Acquire);
        self.pos < end && self.header(self.pos).1 & BUSY_BIT == 0
    }
}

impl RingReader {
    /// Records the reader asks for per poll when `map-ring` is not granted.
    pub const POLL_BATCH: u32 = 4096;

    /// Opens the ring buffer `map` and maps it into guest memory, or, where
    /// `map-ring` is not granted, opens it to be polled. A perf buffer is
    /// `unsupported` (read it with [`EventBuffer::poll`]).
    pub fn open(map: &BpfMap) -> Result<Self> {
        let buffer = EventBuffer::open(map)?;
        let pages = match buffer.raw.map_ring() {
            Ok(pages) => pages,
            Err(Error::PermissionDenied(_)) if buffer.kind() == BufferKind::Ring => {
                let source = Source::Polled { batch: OnceCell::new(), next: Cell::new(0), failed: Cell::new(None) };
                return Ok(Self { buffer, source });
            }
            Err(error) => return Err(error),
        };
        let (page, size) = (pages.page_size as usize, pages.size as usize);
        let mut region = pages.region;
        let base = region.as_mut_ptr();
        let at = (base as usize).next_multiple_of(page.max(1)) - base as usize;
        if !page.is_power_of_two() || page < 8 || !size.is_power_of_two() || at + 2 * page + 2 * size > region.len() {
            return Err(Error::invalid(format!(
                "host mapped a ring of {size} bytes (pages of {page}) into a region of {} bytes",
                region.len()
            )));
        }
        // SAFETY: the three pages are in bounds of `region` (checked above)
        // and page-aligned, so aligned for the positions' atomics.
        let (consumer, producer, data) = unsafe {
            let consumer = base.add(at);
            (consumer.cast::<AtomicU64>(), consumer.add(page).cast::<AtomicU64>(), consumer.add(2 * page))
        };
        let (Some(consumer), Some(producer), Some(data)) =
            (NonNull::new(consumer), NonNull::new(producer), NonNull::new(data))
        else {
            return Err(Error::invalid("host mapped a ring at address 0"));
        };
        // SAFETY: checked above; `region` keeps the memory alive.
        let start = unsafe { consumer.as_ref() }.load(Ordering::Relaxed);
        let cursor = Cursor { producer, data, mask: size as u64 - 1, pos: start, end: start };
        Ok(Self { buffer, source: Source::Mapped { region, consumer, cursor: Cell::new(cursor) } })
    }

    /// The error of the last poll that failed since the last call, if one
    /// did, and forgets it. A polled reader's `next` reads a failed poll
    /// as "no record now" (the loop around it goes on); a program that
    /// must know asks here. A reader in place never fails this way.
    pub fn take_error(&self) -> Option<Error> {
        match &self.source {
            Source::Polled { failed, .. } => failed.take(),
            Source::Mapped { .. } => None,
        }
    }

    /// Whether records are read in place (`map-ring` granted) rather than
    /// polled.
    pub fn in_place(&self) -> bool {
        matches!(self.source, Source::Mapped { .. })
    }

    /// The next submitted record (its payload), or `None` when there is
    /// none yet: nothing written, or the next record not yet submitted.
    /// Discarded records are skipped. The slice is valid until
    /// [`release`](Self::release). Inline: a few loads per record in place.
    #[inline]
    pub fn next(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Mapped { cursor, .. } => {
                let mut reading = cursor.get();
                let record = reading.next();
                cursor.set(reading);
                // SAFETY: the kernel keeps a record within the ring's size
                // and the data area is mapped twice in a row, so the payload
                // never runs past it. The kernel leaves it alone until
                // `release` hands its space back, which takes `&mut self` and
                // so cannot happen while this borrow lives; `region` keeps
                // the memory alive as long as `self`.
                record.map(|(payload, len)| unsafe { core::slice::from_raw_parts(payload, len) })
            }
            Source::Polled { batch, next, failed } => {
                if batch.get().is_none() {
                    // Held only when it has records: an empty (or failed)
                    // poll is no record now, and the next call polls again.
                    let polled = match self.buffer.poll(0, Self::POLL_BATCH) {
                        Ok(polled) => polled,
                        Err(error) => {
                            failed.set(Some(error));
                            return None;
                        }
                    };
                    if polled.is_empty() {
                        return None;
                    }
                    let _ = batch.set(polled);
                    next.set(0);
                }
                let record = batch.get()?.get(next.get())?;
                next.set(next.get() + 1);
                Some(record)
            }
        }
    }

    /// Hands the space of every record [`next`](Self::next) returned back
    /// to the kernel (polling: lets the next call poll once the batch is
    /// read).
    #[inline]
    pub fn release(&mut self) {
        match &mut self.source {
            Source::Mapped { consumer, cursor, .. } => {
                // SAFETY: in bounds and aligned (checked by `open`), and the
                // one position this side writes.
                unsafe { consumer.as_ref() }.store(cursor.get().pos, Ordering::Release);
            }
            Source::Polled { batch, next, .. } => {
                if batch.get().is_some_and(|batch| next.get() >= batch.len()) {
                    batch.take();
                    next.set(0);
                }
            }
        }
    }

    /// Calls `f` with each waiting record, at most `max` (0: all that are
    /// there), then releases them; returns how many. The slice is only
    /// valid during the call.
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
        let mut short = None;
        let count = self.consume_while(max, |record| {
            let Some(bytes) = record.get(..size_of::<T>()) else {
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
                "record of {len} bytes is shorter than {} ({} bytes)",
                core::any::type_name::<T>(),
                size_of::<T>()
            ))),
            None => Ok(count),
        }
    }

    /// [`next`](Self::next) until there is no record, `max` records were
    /// read (0: no limit) or `f` says false (that record is left for later),
    /// then [`release`](Self::release); returns how many records `f` took.
    /// In place, the cursor lives in a local meanwhile (see [`Cursor`]).
    #[inline]
    fn consume_while(&mut self, max: usize, mut f: impl FnMut(&[u8]) -> bool) -> usize {
        let limit = if max == 0 { usize::MAX } else { max };
        let mut count = 0;
        match &self.source {
            Source::Mapped { cursor, .. } => {
                let mut reading = cursor.get();
                while count < limit {
                    let pos = reading.pos;
                    let Some((payload, len)) = reading.next() else {
                        break;
                    };
                    // SAFETY: as in `next`; the slice does not outlive the call.
                    if !f(unsafe { core::slice::from_raw_parts(payload, len) }) {
                        reading.pos = pos;
                        break;
                    }
                    count += 1;
                }
                cursor.set(reading);
            }
            Source::Polled { next, .. } => {
                while count < limit {
                    let at = next.get();
                    let Some(record) = self.next() else {
                        break;
                    };
                    if !f(record) {
                        next.set(at);
                        break;
                    }
                    count += 1;
                }
            }
        }
        self.release();
        count
    }

    /// Whether a record is waiting for [`next`](Self::next).
    pub fn ready(&self) -> bool {
        match &self.source {
            Source::Mapped { cursor, .. } => cursor.get().ready(),
            // A held batch: exactly whether `next` has a record for now.
            Source::Polled { batch, next, .. } => match batch.get() {
                Some(batch) => next.get() < batch.len(),
                None => self.buffer.subscribe().ready(),
            },
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

    /// Ready when records are waiting, for [`crate::io::poll`]. Polling
    /// (no `map-ring` grant), records of a batch already taken from the
    /// ring do not count: read until `next` says none, then wait.
    pub fn subscribe(&self) -> Pollable {
        self.buffer.subscribe()
    }

    /// The event buffer underneath ([`EventBuffer::poll`] works on it too).
    pub fn buffer(&self) -> &EventBuffer {
        &self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of 64 bytes mapped twice, with its producer position.
    struct FakeRing {
        data: Vec<u64>,
        producer: Box<AtomicU64>,
    }

    impl FakeRing {
        fn new() -> Self {
            Self { data: vec![0; 2 * 64 / 8], producer: Box::new(AtomicU64::new(0)) }
        }

        /// Writes a record of `payload` with the header bits `bits` at the
        /// producer position, in both copies of the data area.
        fn push(&mut self, payload: &[u8], bits: u32) {
            let pos = self.producer.load(Ordering::Relaxed);
            let mut record = (payload.len() as u32 | bits).to_ne_bytes().to_vec();
            record.resize(8, 0);
            record.extend_from_slice(payload);
            record.resize(record.len().next_multiple_of(8), 0);
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.data);
            for (i, &b) in record.iter().enumerate() {
                let at = (pos as usize + i) % 64;
                bytes[at] = b;
                bytes[at + 64] = b;
            }
            self.producer.store(pos + record.len() as u64, Ordering::Release);
        }

        fn cursor(&mut self, pos: u64) -> Cursor {
            Cursor {
                producer: NonNull::from(&*self.producer),
                data: NonNull::new(self.data.as_mut_ptr().cast::<u8>()).unwrap(),
                mask: 63,
                pos,
                end: pos,
            }
        }
    }

    fn read(cursor: &mut Cursor) -> Option<Vec<u8>> {
        // SAFETY: the fake ring outlives the copy.
        cursor.next().map(|(payload, len)| unsafe { core::slice::from_raw_parts(payload, len) }.to_vec())
    }

    #[test]
    fn cursor_reads_submitted_records_and_skips_discarded_ones() {
        let mut ring = FakeRing::new();
        ring.push(b"first", 0);
        ring.push(b"gone", DISCARD_BIT);
        ring.push(b"second!", 0);
        let mut cursor = ring.cursor(0);
        assert!(cursor.ready());
        assert_eq!(read(&mut cursor).as_deref(), Some(&b"first"[..]));
        assert_eq!(read(&mut cursor).as_deref(), Some(&b"second!"[..]));
        assert_eq!(read(&mut cursor), None);
        assert_eq!(cursor.pos, 16 + 16 + 16);
        assert!(!cursor.ready());
    }

    #[test]
    fn cursor_stops_at_a_busy_record_and_reads_across_the_wrap() {
        let mut ring = FakeRing::new();
        for _ in 0..3 {
            ring.push(&[0; 8], 0);
        }
        let mut cursor = ring.cursor(48);
        // Starts 16 bytes before the end of the ring: read through the
        // second mapping.
        ring.push(&[1; 20], 0);
        ring.push(&[2; 4], BUSY_BIT);
        assert_eq!(read(&mut cursor), Some(vec![1; 20]));
        assert_eq!(read(&mut cursor), None);
        assert_eq!(cursor.pos, 48 + 32);
        assert!(!cursor.ready());
    }
}
