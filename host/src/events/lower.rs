//! The event batch as lowered into the guest: a ring buffer's records go
//! from the kernel's pages straight into the list the guest receives.
//!
//! The bindings would have `poll` return a `Batch` of owned vectors, which
//! wasmtime then copies into guest memory: two copies of every record and
//! two host allocations per poll. Instead `add_fast_poll` links its own
//! `poll` whose `data` and `offsets` lower themselves: `data` asks the
//! guest's allocator for the batch's size and copies each record into it
//! from the ring, `offsets` copies the offsets the scan noted. The ring's
//! consumer position moves on only when the batch is dropped, after
//! lowering, so the kernel cannot reuse a record before it is copied.
//!
//! The lowering is hand-written: see `crate::lower`.

use std::mem::MaybeUninit;
use std::time::Duration;

use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LowerContext};
use wasmtime::component::{ComponentType, Linker, Lower, Resource};
use wasmtime::{StoreContextMut, ValRaw};

use crate::lower::{alloc_and_fill, lower_as_bytes};

use super::{EventBuffer, Ring};
use crate::bindings::events::Batch;
use crate::types::Error;
use crate::BpfView;

/// A poll's result, lowered as the WIT record `batch`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub struct FastBatch {
    pub data: BatchData,
    pub offsets: BatchOffsets,
    pub lost: u64,
}

/// `batch.data`: a ring buffer's scanned records, or bytes already here.
pub enum BatchData {
    Ring(*mut Ring),
    Owned(Vec<u8>),
}

/// `batch.offsets`: the ring scan's offsets, or offsets already here.
pub enum BatchOffsets {
    Ring(*const Ring),
    Owned(Vec<u32>),
}

// SAFETY: a batch lives only from the end of a poll to the end of its
// lowering, inside one host call on the thread that owns the store, and the
// Ring it points to is in the store's resource table (boxed, so it does not
// move) for all of that time: realloc, the only guest code that runs in
// between, cannot call the host.
unsafe impl Send for BatchData {}
unsafe impl Sync for BatchData {}
unsafe impl Send for BatchOffsets {}
unsafe impl Sync for BatchOffsets {}

impl BatchData {
    fn ring(&self) -> Option<&Ring> {
        match self {
            // SAFETY: see the Send impl.
            BatchData::Ring(ring) => Some(unsafe { &**ring }),
            BatchData::Owned(_) => None,
        }
    }
}

impl Drop for BatchData {
    fn drop(&mut self) {
        if let BatchData::Ring(ring) = self {
            // SAFETY: see the Send impl. Dropped after lowering: the records
            // are in the guest, their space goes back to the kernel.
            unsafe { (**ring).release_batch() };
        }
    }
}

impl FastBatch {
    /// The batch as the bindings' owned record.
    pub fn into_owned(mut self) -> Batch {
        let data = match &mut self.data {
            BatchData::Ring(_) => {
                let ring = self.data.ring().expect("a ring batch");
                let mut data = vec![0; ring.batch_bytes];
                ring.copy_batch(&mut data);
                data
            }
            BatchData::Owned(data) => std::mem::take(data),
        };
        let offsets = match &mut self.offsets {
            BatchOffsets::Ring(_) => self.offsets.as_slice().to_vec(),
            BatchOffsets::Owned(offsets) => std::mem::take(offsets),
        };
        // Dropping `self` hands a ring batch's space back.
        Batch { data, offsets, lost: self.lost }
    }
}

impl BatchData {
    /// Allocates the list in the guest and copies the records into it.
    fn lower_bytes<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<(usize, usize)> {
        match self {
            BatchData::Owned(data) => {
                Ok((alloc_and_fill(cx, data.len(), 1, |dst| dst.copy_from_slice(data))?, data.len()))
            }
            BatchData::Ring(_) => {
                let ring = self.ring().expect("a ring batch");
                Ok((alloc_and_fill(cx, ring.batch_bytes, 1, |dst| ring.copy_batch(dst))?, ring.batch_bytes))
            }
        }
    }
}

lower_as_bytes!(BatchData);

impl BatchOffsets {
    fn as_slice(&self) -> &[u32] {
        match self {
            // SAFETY: see the Send impl of BatchData.
            BatchOffsets::Ring(ring) => unsafe { &(**ring).offsets },
            BatchOffsets::Owned(offsets) => offsets,
        }
    }
}

// SAFETY: the same ABI as `[u32]`, whose type check this uses.
unsafe impl ComponentType for BatchOffsets {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = <[u32] as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <[u32] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: lowers as `[u32]` does.
unsafe impl Lower for BatchOffsets {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<[ValRaw; 2]>,
    ) -> wasmtime::Result<()> {
        self.as_slice().linear_lower_to_flat(cx, ty, dst)
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        self.as_slice().linear_lower_to_memory(cx, ty, offset)
    }
}

/// `map-ring`'s result, lowered as the WIT record `ring-pages`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub struct FastRingPages {
    pub region: RingRegion,
    #[component(name = "page-size")]
    pub page_size: u32,
    pub size: u32,
}

/// `ring-pages.region`: allocated in the guest while lowering, then the
/// ring's pages are mapped over it.
pub struct RingRegion(*mut Ring);

// SAFETY: as for BatchData: lives only until its lowering, in one host call.
unsafe impl Send for RingRegion {}
unsafe impl Sync for RingRegion {}

impl RingRegion {
    fn lower_bytes<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<(usize, usize)> {
        // SAFETY: see the Send impl of BatchData.
        let ring = unsafe { &mut *self.0 };
        let len = ring.region_len();
        let mut mapped = Ok(());
        // SAFETY: guest memory outlives the Ring: the store drops its data
        // (the resource table, so the Ring) before its memories.
        let ptr = alloc_and_fill(cx, len, 1, |region| mapped = unsafe { ring.map_into(region) })?;
        mapped.map_err(|e| wasmtime::format_err!("map-ring: {e}"))?;
        Ok((ptr, len))
    }
}

lower_as_bytes!(RingRegion);

/// Links `event-buffer.poll` and `event-buffer.map-ring` over the
/// bindings' versions (see the module documentation); the linker must allow
/// shadowing.
pub fn add_fast_poll<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut events = linker.instance("bpflet:ebpf/events@0.1.0")?;
    events.func_wrap(
        "[method]event-buffer.map-ring",
        |mut store: StoreContextMut<'_, T>,
         (buffer,): (Resource<EventBuffer>,)|
         -> wasmtime::Result<(Result<FastRingPages, Error>,)> {
            let view = store.data_mut().bpf();
            let buffer = view.table.get_mut(&buffer)?;
            Ok((buffer.ring_to_share().map(|ring| FastRingPages {
                page_size: ring.page as u32,
                size: ring.size as u32,
                region: RingRegion(ring),
            }),))
        },
    )?;
    events.func_wrap(
        "[method]event-buffer.poll",
        |mut store: StoreContextMut<'_, T>,
         (buffer, timeout_ms, max_records): (Resource<EventBuffer>, u32, u32)|
         -> wasmtime::Result<(Result<FastBatch, Error>,)> {
            let view = store.data_mut().bpf();
            let buffer = view.table.get_mut(&buffer)?;
            Ok((buffer.poll(Duration::from_millis(timeout_ms.into()), max_records),))
        },
    )
}
