//! Map values lowered straight into guest memory: a looked-up value sits
//! on the host's stack (or heap, when large) only between the kernel's
//! copy and the guest's, with no host allocation per call for values of up
//! to 64 bytes (see `crate::abi`).

use crate::abi::ListSource;

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

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            ValueBuf::Inline { bytes, len } => &mut bytes[..*len],
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
}

impl ListSource for ValueBuf {
    type Element = u8;

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        list.copy_from_slice(self.as_slice());
        Ok(())
    }
}
