//! Event batches lowered into the guest: a ring buffer's records go from
//! the kernel's pages straight into the list the guest receives.
//!
//! Built on the bindings' `Batch`, a poll would return owned vectors that
//! wasmtime then copies into guest memory: two copies of every record and
//! two host allocations per poll. Instead `poll` returns a [`LoweredBatch`]
//! whose `data` asks the guest's allocator for the batch's size and copies
//! each record into it from the ring, and whose `offsets` copies the
//! offsets the scan noted (`crate::abi::List`). The ring's consumer
//! position moves on only when the batch is dropped, after lowering, so
//! the kernel cannot reuse a record before it is copied. `map-ring`'s
//! region is allocated the same way, then the ring's pages are mapped over it.

use std::ptr::NonNull;

use wasmtime::component::{ComponentType, Lower};

use super::ring::Ring;
use crate::abi::{List, ListSource};

/// A poll's result, lowered as the WIT record `batch`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct LoweredBatch {
    pub data: List<BatchData>,
    pub offsets: List<BatchOffsets>,
    pub lost: u64,
}

/// The ring buffer a batch was scanned from, for the time the batch is
/// lowered.
///
/// A batch lives only from the end of a poll to the end of its lowering,
/// inside one host call on the thread that owns the store; the Ring is in
/// the store's resource table (boxed, so it does not move) all that time,
/// and realloc, the only guest code that runs in between, cannot call the
/// host. So the pointer stays valid, and nothing else uses the Ring while a
/// batch does.
#[derive(Clone, Copy)]
pub(super) struct RingRef(NonNull<Ring>);

// SAFETY: see the type's documentation: used on one thread, within one call.
unsafe impl Send for RingRef {}
// SAFETY: as above.
unsafe impl Sync for RingRef {}

impl RingRef {
    pub(super) fn new(ring: &mut Ring) -> Self {
        RingRef(NonNull::from(ring))
    }

    /// The ring, for the duration of one use.
    ///
    /// # Safety
    /// Only while the batch or region is lowered (see the type's
    /// documentation), and one use at a time: the data and offsets of a
    /// batch are lowered one after the other, never at once.
    #[allow(clippy::mut_from_ref, reason = "one use at a time, see the type's documentation")]
    unsafe fn ring(&self) -> &mut Ring {
        // SAFETY: the caller's contract.
        unsafe { &mut *self.0.as_ptr() }
    }
}

/// `batch.data`: a ring buffer's scanned records, or bytes already here.
pub(super) enum BatchData {
    Ring(RingRef),
    Owned(Vec<u8>),
}

impl ListSource for BatchData {
    type Element = u8;

    fn len(&self) -> usize {
        match self {
            // SAFETY: called while lowering (see RingRef).
            BatchData::Ring(ring) => unsafe { ring.ring() }.batch_bytes,
            BatchData::Owned(data) => data.len(),
        }
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        match self {
            BatchData::Ring(ring) => {
                // SAFETY: called while lowering (see RingRef).
                let ring = unsafe { ring.ring() };
                ring.copy_batch(list).map_err(|e| wasmtime::format_err!("{}", e.message()))
            }
            BatchData::Owned(data) => data.as_slice().fill(list),
        }
    }
}

impl Drop for BatchData {
    fn drop(&mut self) {
        if let BatchData::Ring(ring) = self {
            // SAFETY: dropped at the end of the lowering, within the host
            // call (see RingRef): the records are in the guest, their
            // space goes back to the kernel.
            unsafe { ring.ring() }.release_batch();
        }
    }
}

/// `batch.offsets`: the ring scan's offsets, or offsets already here.
pub(super) enum BatchOffsets {
    Ring(RingRef),
    Owned(Vec<u32>),
}

impl ListSource for BatchOffsets {
    type Element = u32;

    fn len(&self) -> usize {
        match self {
            // SAFETY: called while lowering (see RingRef).
            BatchOffsets::Ring(ring) => unsafe { ring.ring() }.offsets.len(),
            BatchOffsets::Owned(offsets) => offsets.len(),
        }
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        match self {
            // SAFETY: called while lowering (see RingRef).
            BatchOffsets::Ring(ring) => unsafe { ring.ring() }.offsets.as_slice().fill(list),
            BatchOffsets::Owned(offsets) => offsets.as_slice().fill(list),
        }
    }
}

/// `map-ring`'s result, lowered as the WIT record `ring-pages`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct LoweredRingPages {
    pub region: List<RingRegion>,
    #[component(name = "page-size")]
    pub page_size: u32,
    pub size: u32,
}

/// `ring-pages.region`: allocated in the guest while lowering, then the
/// ring's pages are mapped over it.
pub(super) struct RingRegion(pub RingRef);

impl ListSource for RingRegion {
    type Element = u8;

    fn len(&self) -> usize {
        // SAFETY: called while lowering (see RingRef).
        unsafe { self.0.ring() }.region_len()
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        // SAFETY: called while lowering (see RingRef); `list` is the
        // guest's new allocation for this region, and guest memory outlives
        // the Ring (see BpfCtx: the store drops its data, so the Ring,
        // before its memories).
        unsafe { self.0.ring().map_into(list) }.map_err(|e| wasmtime::format_err!("map-ring: {}", e.message()))
    }
}
