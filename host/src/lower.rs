//! Values lowered into the guest without first being built on the host.
//!
//! wasmtime lowers a returned `Vec<u8>` by asking the guest's allocator for
//! room and copying it there, so a host function that returns bytes pays
//! for a host allocation as well as the guest's. The hot functions (event
//! polls, single-element map calls) are linked by hand over the bindings'
//! versions (`Linker::allow_shadowing`) and return these types instead,
//! which write their bytes straight into the guest's allocation.
//!
//! They implement wasmtime's `ComponentType` and `Lower`, which wasmtime
//! documents as internal; the wasmtime version is pinned (host/Cargo.toml)
//! and every type check delegates to wasmtime's own for the same WIT type.

use std::mem::MaybeUninit;

use wasmtime::component::__internal::LowerContext;
use wasmtime::ValRaw;

/// Writes a list's (pointer, length) pair as a flat lowering does.
pub fn pointer_pair_to_flat(dst: &mut MaybeUninit<[ValRaw; 2]>, ptr: usize, len: usize) {
    dst.write([ValRaw::i64(ptr as i64), ValRaw::i64(len as i64)]);
}

/// Writes a list's (pointer, length) pair into guest memory at `offset`.
pub fn pointer_pair_to_memory<T>(
    cx: &mut LowerContext<'_, T>,
    offset: usize,
    ptr: usize,
    len: usize,
) -> wasmtime::Result<()> {
    *cx.get::<4>(offset) = u32::try_from(ptr)?.to_le_bytes();
    *cx.get::<4>(offset + 4) = u32::try_from(len)?.to_le_bytes();
    Ok(())
}

/// Allocates `len` bytes in the guest and fills them with `fill`; returns
/// the guest pointer.
pub fn alloc_and_fill<T>(
    cx: &mut LowerContext<'_, T>,
    len: usize,
    align: u32,
    fill: impl FnOnce(&mut [u8]),
) -> wasmtime::Result<usize> {
    let ptr = cx.realloc(0, 0, align, len)?;
    fill(&mut cx.as_slice_mut()[ptr..ptr + len]);
    Ok(ptr)
}

/// Implements `ComponentType` and `Lower` as WIT `list<u8>` for a type
/// with `fn lower_bytes(&self, cx) -> wasmtime::Result<(ptr, len)>`.
macro_rules! lower_as_bytes {
    ($ty:ty) => {
        // SAFETY: the ABI and type check of `[u8]`; `lower_bytes` returns a
        // list the guest's realloc allocated, as `[u8]`'s lowering does.
        unsafe impl wasmtime::component::ComponentType for $ty {
            type Lower = [wasmtime::ValRaw; 2];
            const ABI: wasmtime::component::__internal::CanonicalAbiInfo =
                <[u8] as wasmtime::component::ComponentType>::ABI;

            fn typecheck(
                ty: &wasmtime::component::__internal::InterfaceType,
                types: &wasmtime::component::__internal::InstanceType<'_>,
            ) -> wasmtime::Result<()> {
                <[u8] as wasmtime::component::ComponentType>::typecheck(ty, types)
            }
        }

        // SAFETY: see above.
        unsafe impl wasmtime::component::Lower for $ty {
            fn linear_lower_to_flat<T>(
                &self,
                cx: &mut wasmtime::component::__internal::LowerContext<'_, T>,
                _ty: wasmtime::component::__internal::InterfaceType,
                dst: &mut std::mem::MaybeUninit<[wasmtime::ValRaw; 2]>,
            ) -> wasmtime::Result<()> {
                let (ptr, len) = self.lower_bytes(cx)?;
                $crate::lower::pointer_pair_to_flat(dst, ptr, len);
                Ok(())
            }

            fn linear_lower_to_memory<T>(
                &self,
                cx: &mut wasmtime::component::__internal::LowerContext<'_, T>,
                _ty: wasmtime::component::__internal::InterfaceType,
                offset: usize,
            ) -> wasmtime::Result<()> {
                let (ptr, len) = self.lower_bytes(cx)?;
                $crate::lower::pointer_pair_to_memory(cx, offset, ptr, len)
            }
        }
    };
}
pub(crate) use lower_as_bytes;

/// Up to this many bytes of a value live on the stack, not the heap.
const INLINE: usize = 64;

/// A map value read by the host: on the stack when small.
pub enum ValueBuf {
    Inline { bytes: [u8; INLINE], len: usize },
    Heap(Vec<u8>),
}

impl ValueBuf {
    /// Zeroed room for `len` bytes.
    pub fn zeroed(len: usize) -> Self {
        if len <= INLINE {
            ValueBuf::Inline { bytes: [0; INLINE], len }
        } else {
            ValueBuf::Heap(vec![0; len])
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            ValueBuf::Inline { bytes, len } => &bytes[..*len],
            ValueBuf::Heap(v) => v,
        }
    }

    /// Keeps the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        match self {
            ValueBuf::Inline { len: current, .. } => *current = (*current).min(len),
            ValueBuf::Heap(v) => v.truncate(len),
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            ValueBuf::Inline { bytes, len } => &mut bytes[..*len],
            ValueBuf::Heap(v) => v,
        }
    }

    fn lower_bytes<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<(usize, usize)> {
        let bytes = self.as_slice();
        Ok((alloc_and_fill(cx, bytes.len(), 1, |dst| dst.copy_from_slice(bytes))?, bytes.len()))
    }
}

lower_as_bytes!(ValueBuf);

/// `lookup-word`'s result, `result<option<u64>, error>`, written into the
/// guest's return area with one look-up of its memory instead of one per
/// field (the generic lowering's): on this path that is a measurable part
/// of a call. Errors take the generic path.
pub struct WordLookup(pub Result<Option<u64>, crate::types::Error>);

type WordLookupWit = Result<Option<u64>, crate::types::Error>;

// SAFETY: the ABI and type check of the type it wraps.
unsafe impl wasmtime::component::ComponentType for WordLookup {
    type Lower = <WordLookupWit as wasmtime::component::ComponentType>::Lower;
    const ABI: wasmtime::component::__internal::CanonicalAbiInfo =
        <WordLookupWit as wasmtime::component::ComponentType>::ABI;

    fn typecheck(
        ty: &wasmtime::component::__internal::InterfaceType,
        types: &wasmtime::component::__internal::InstanceType<'_>,
    ) -> wasmtime::Result<()> {
        <WordLookupWit as wasmtime::component::ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes the bytes the wrapped type's lowering writes for `Ok`
// (the offsets come from wasmtime's own layout constants), and delegates
// everything else.
unsafe impl wasmtime::component::Lower for WordLookup {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: wasmtime::component::__internal::InterfaceType,
        dst: &mut std::mem::MaybeUninit<Self::Lower>,
    ) -> wasmtime::Result<()> {
        self.0.linear_lower_to_flat(cx, ty, dst)
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: wasmtime::component::__internal::InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        use wasmtime::component::__internal::ComponentVariant;
        let Ok(found) = &self.0 else {
            return self.0.linear_lower_to_memory(cx, ty, offset);
        };
        let option_at = <WordLookupWit as ComponentVariant>::PAYLOAD_OFFSET32;
        let value_at = option_at + <Option<u64> as ComponentVariant>::PAYLOAD_OFFSET32;
        let area = &mut cx.as_slice_mut()[offset..offset + value_at + 8];
        area[0] = 0; // ok
        area[option_at] = u8::from(found.is_some());
        if let Some(value) = found {
            area[value_at..].copy_from_slice(&value.to_le_bytes());
        }
        Ok(())
    }
}
