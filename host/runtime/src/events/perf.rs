//! A perf buffer, read through libbpf's callbacks into one growing host
//! buffer (two copies per record: libbpf has no in-place reader for perf
//! buffers worth its per-CPU bookkeeping).

use std::cell::UnsafeCell;

use libbpf_rs::{MapHandle, PerfBuffer, PerfBufferBuilder};

use crate::error::Context;
use crate::{kernel, sys, Error};

type Result<T> = std::result::Result<T, Error>;

/// Most pages per CPU a guest may ask for: a perf buffer's pages are
/// kernel memory, pinned, on every CPU. 1024 (4 MiB per CPU with 4 KiB
/// pages) is far beyond what tools use (libbpf-tools: 16 to 64).
pub(super) const MAX_PAGES: usize = 1024;

/// Records received but not yet handed to the guest: libbpf hands each
/// record to a callback, which appends it here. [`Perf::consume`] refills
/// it only once it is empty, so it never holds more than one drain of the
/// kernel's buffers.
#[derive(Default)]
pub(super) struct Pending {
    data: Vec<u8>,
    offsets: Vec<u32>,
    pub(super) lost: u64,
}

impl Pending {
    fn push(&mut self, record: &[u8]) {
        // Offsets are 32-bit (the batch's WIT type): a record that would
        // start past them is counted lost rather than misplaced.
        let Ok(offset) = u32::try_from(self.data.len()) else {
            self.lost += 1;
            return;
        };
        self.offsets.push(offset);
        self.data.extend_from_slice(record);
    }

    /// Moves out the first `max` records (all when `max` is 0).
    pub(super) fn take(&mut self, max: u32) -> (Vec<u8>, Vec<u32>, u64) {
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

    pub(super) fn is_empty(&self) -> bool {
        self.offsets.is_empty() && self.lost == 0
    }
}

/// A perf buffer and the records its callbacks collected.
pub(super) struct Perf {
    /// Declared before `pending`: the callbacks are gone before it is freed.
    buffer: PerfBuffer<'static>,
    /// Written by libbpf's callbacks through a raw pointer, so it lives in
    /// a Box whose address never changes, in a cell that lets the pointer
    /// and `pending()` take turns.
    pending: Box<UnsafeCell<Pending>>,
    /// Keeps the map open for as long as the buffer reads it.
    _map: MapHandle,
    /// Kernel memory the buffer's pages pin, on every CPU.
    pub(super) pinned: u64,
}

struct SendPtr(*mut Pending);
// SAFETY: the pointer is only dereferenced by callbacks that run inside
// `consume`, on the Perf that owns the pointee, on whichever thread holds it.
unsafe impl Send for SendPtr {}

impl Perf {
    /// Opens the perf buffer of `map` with `pages` pages per CPU.
    pub(super) fn open(map: MapHandle, pages: usize) -> Result<Self> {
        if !pages.is_power_of_two() {
            return Err(Error::invalid_argument(format!("pages-per-cpu must be a power of two, got {pages}")));
        }
        if pages > MAX_PAGES {
            return Err(Error::invalid_argument(format!(
                "pages-per-cpu {pages} is more than {MAX_PAGES}: a perf buffer's pages are pinned kernel memory, \
                 on every CPU"
            )));
        }
        let pending = Box::new(UnsafeCell::new(Pending::default()));
        let samples = SendPtr(pending.get());
        let losses = SendPtr(samples.0);
        let buffer = PerfBufferBuilder::new(&map)
            .pages(pages)
            .sample_cb(move |_cpu, record: &[u8]| {
                // SAFETY: see SendPtr; the Box outlives the perf buffer.
                unsafe { (*samples.0).push(record) }
            })
            .lost_cb(move |_cpu, count| {
                // SAFETY: as above.
                unsafe { (*losses.0).lost += count }
            })
            .build()
            .context("opening perf buffer")?;
        // libbpf maps one more page than the data, for the header, on
        // each CPU.
        let pinned = ((pages + 1) * sys::page_size()) as u64 * kernel::possible_cpus() as u64;
        Ok(Perf { buffer, pending, _map: map, pinned })
    }

    /// Hands what the kernel has to the callbacks, into `pending`, once
    /// the guest has taken what was there: reading on while the guest
    /// takes a few records a poll would grow the host's copy without
    /// bound (the kernel's buffers bound it instead, counting as lost what
    /// does not fit).
    pub(super) fn consume(&mut self) -> Result<()> {
        if !self.pending().offsets.is_empty() {
            return Ok(());
        }
        self.buffer.consume().context("reading perf buffer")
    }

    /// The records collected so far.
    pub(super) fn pending(&mut self) -> &mut Pending {
        // SAFETY: the callbacks only run inside `consume`, which needs
        // `&mut self` too, so this is the only access while it lives.
        unsafe { &mut *self.pending.get() }
    }

    pub(super) fn pending_lost(&self) -> u64 {
        // SAFETY: as in `pending`; a read while no callback runs.
        unsafe { (*self.pending.get()).lost }
    }

    pub(super) fn epoll_fd(&self) -> std::os::fd::RawFd {
        self.buffer.epoll_fd()
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
