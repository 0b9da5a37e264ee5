//! `bpflet:ebpf/maps`: element access on a BPF map through its fd.
//!
//! [`BpfMap`] does the kernel work (`sys` makes the calls, so the kernel's
//! errno decides the error case: ENOENT is not-found, EEXIST
//! already-exists); `host` links every function of the interface, reading
//! keys in place from guest memory; `lower` writes looked-up values
//! straight into it.

mod host;
mod lower;

use std::os::fd::{AsFd, BorrowedFd};

use libbpf_rs::{MapCore, MapHandle};

pub(crate) use self::host::add_to_linker;
pub(crate) use self::lower::ValueBuf;
use crate::bindings::maps::{Entries, MapInfo, MapType, UpdateFlag};
use crate::error::Context;
use crate::{kernel, sys, Error};

type Result<T> = std::result::Result<T, Error>;

/// A handle on a kernel map; holding it keeps the map alive.
pub struct BpfMap {
    handle: MapHandle,
    info: MapInfo,
    /// What the kernel copies per element.
    element: sys::Element,
    /// The handle `word-handle` gave out for this map, if it did.
    word_handle: std::cell::Cell<Option<u32>>,
}

const MAP_TYPES: [MapType; 34] = {
    use crate::bindings::maps::MapType::*;
    [
        Unspec,
        Hash,
        Array,
        ProgArray,
        PerfEventArray,
        PercpuHash,
        PercpuArray,
        StackTrace,
        CgroupArray,
        LruHash,
        LruPercpuHash,
        LpmTrie,
        ArrayOfMaps,
        HashOfMaps,
        Devmap,
        Sockmap,
        Cpumap,
        Xskmap,
        Sockhash,
        CgroupStorage,
        ReuseportSockarray,
        PercpuCgroupStorage,
        Queue,
        Stack,
        SkStorage,
        DevmapHash,
        StructOps,
        Ringbuf,
        InodeStorage,
        TaskStorage,
        BloomFilter,
        UserRingbuf,
        CgrpStorage,
        Arena,
    ]
};

/// BPF_MAP_TYPE_* (the WIT enum follows the kernel's order).
pub fn map_type_from_raw(raw: u32) -> MapType {
    MAP_TYPES.get(raw as usize).copied().unwrap_or(MapType::Unknown)
}

fn flag_bits(flag: UpdateFlag) -> u64 {
    u64::from(match flag {
        UpdateFlag::Any => libbpf_sys::BPF_ANY,
        UpdateFlag::NoExist => libbpf_sys::BPF_NOEXIST,
        UpdateFlag::Exist => libbpf_sys::BPF_EXIST,
    })
}

impl BpfMap {
    pub fn new(handle: MapHandle) -> Result<Self> {
        let kernel_info = libbpf_rs::MapInfo::new(handle.as_fd()).context("reading map info")?.info;
        let map_type = handle.map_type();
        let per_cpu = map_type.is_percpu();
        let info = MapInfo {
            name: handle.name().to_string_lossy().into_owned(),
            map_type: map_type_from_raw(kernel_info.type_),
            key_size: kernel_info.key_size,
            value_size: kernel_info.value_size,
            max_entries: kernel_info.max_entries,
            map_flags: kernel_info.map_flags,
            id: kernel_info.id,
            possible_cpus: kernel::possible_cpus() as u32,
            per_cpu,
        };
        let keyless = matches!(info.map_type, MapType::Queue | MapType::Stack | MapType::BloomFilter);
        let value = if per_cpu {
            (info.value_size as usize).next_multiple_of(8) * kernel::possible_cpus()
        } else {
            info.value_size as usize
        };
        let element = sys::Element { key: info.key_size as usize, value, keyless };
        Ok(BpfMap { handle, info, element, word_handle: std::cell::Cell::new(None) })
    }

    /// Opens the kernel map with id `id` again: a handle of its own.
    pub fn reopen(id: u32) -> Result<Self> {
        BpfMap::new(MapHandle::from_map_id(id).context("opening the map again")?)
    }

    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.handle.as_fd()
    }

    fn name(&self) -> &str {
        &self.info.name
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if !self.element.keyless && key.len() != self.element.key {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {}-byte keys, got {} bytes",
                self.name(),
                self.element.key,
                key.len()
            )));
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() != self.info.value_size as usize {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {}-byte values, got {} bytes",
                self.name(),
                self.info.value_size,
                value.len()
            )));
        }
        Ok(())
    }

    fn require_per_cpu(&self, per_cpu: bool, op: &str) -> Result<()> {
        if self.info.per_cpu != per_cpu {
            let hint = if self.info.per_cpu { "use the per-CPU call" } else { "it is not a per-CPU map" };
            return Err(Error::invalid_argument(format!("{op} on map {:?}: {hint}", self.name())));
        }
        Ok(())
    }

    /// `lookup`: the value under `key`, if any.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_per_cpu(false, "lookup")?;
        self.check_key(key)?;
        let mut value = ValueBuf::zeroed(self.element.value);
        let found = sys::map_lookup(self.fd(), self.element, key, value.as_mut_slice())
            .with_context(|| format!("lookup in map {:?}", self.name()))?;
        Ok(found.then_some(value))
    }

    /// `update`, with the kernel's EEXIST and ENOENT said in the flag's terms.
    pub fn update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        self.require_per_cpu(false, "update")?;
        self.check_key(key)?;
        self.check_value(value)?;
        self.raw_update(key, value, flag)
    }

    fn raw_update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        sys::map_update(self.fd(), self.element, key, value, flag_bits(flag)).map_err(|e| match e.raw_os_error() {
            Some(libc::EEXIST) => Error::AlreadyExists(format!("map {:?}: the key exists (no-exist)", self.name())),
            Some(libc::ENOENT) => Error::not_found(format!("map {:?}: no such key (exist)", self.name())),
            _ => Error::from(e).context(format!("update of map {:?}", self.name())),
        })
    }

    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.check_key(key)?;
        sys::map_delete(self.fd(), self.element, key).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::not_found(format!("map {:?}: no such key", self.name())),
            _ => Error::from(e).context(format!("delete from map {:?}", self.name())),
        })
    }

    /// `lookup-and-delete`; per-CPU maps give every CPU's value, packed.
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.element.value];
        let found = sys::map_lookup_and_delete(self.fd(), self.element, key, &mut value)
            .with_context(|| format!("lookup-and-delete on map {:?}", self.name()))?;
        if self.info.per_cpu {
            let size = self.info.value_size as usize;
            let len = pack_per_cpu(&mut value, size, size.next_multiple_of(8));
            value.truncate(len);
        }
        Ok(found.then_some(value))
    }

    /// `lookup-per-cpu`: the values of every possible CPU, back to back
    /// (the kernel pads each to 8 bytes, the WIT does not).
    pub fn lookup_per_cpu(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_per_cpu(true, "lookup-per-cpu")?;
        self.check_key(key)?;
        let mut value = ValueBuf::zeroed(self.element.value);
        let found = sys::map_lookup(self.fd(), self.element, key, value.as_mut_slice())
            .with_context(|| format!("lookup-per-cpu in map {:?}", self.name()))?;
        if !found {
            return Ok(None);
        }
        let size = self.info.value_size as usize;
        let len = pack_per_cpu(value.as_mut_slice(), size, size.next_multiple_of(8));
        value.truncate(len);
        Ok(Some(value))
    }

    pub fn update_per_cpu(&self, key: &[u8], values: &[u8], flag: UpdateFlag) -> Result<()> {
        self.require_per_cpu(true, "update-per-cpu")?;
        self.check_key(key)?;
        let cpus = kernel::possible_cpus();
        let size = self.info.value_size as usize;
        if values.len() != size * cpus {
            return Err(Error::invalid_argument(format!(
                "map {:?} takes {cpus} values of {size} bytes (one per possible CPU), got {} bytes",
                self.name(),
                values.len()
            )));
        }
        self.raw_update(key, &unpack_per_cpu(values, size, size.next_multiple_of(8)), flag)
    }

    /// `keys`: up to `max` keys after `after`. `max` is capped at the map's
    /// size, which no walk exceeds, so a guest cannot size host memory.
    pub fn keys(&self, after: Option<&[u8]>, max: u32) -> Result<Vec<u8>> {
        if let Some(after) = after {
            self.check_key(after)?;
        }
        let max = max.min(self.info.max_entries) as usize;
        let size = self.element.key;
        let mut out = Vec::with_capacity(size * max.min(4096));
        let mut next = vec![0u8; size];
        let mut previous: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        while out.len() < max * size {
            let found = sys::map_next_key(self.fd(), self.element, previous.as_deref(), &mut next)
                .with_context(|| format!("key walk of map {:?}", self.name()))?;
            if !found {
                break;
            }
            out.extend_from_slice(&next);
            previous = Some(next.clone());
        }
        Ok(out)
    }

    /// `lookup-batch`: one kernel batch lookup of up to `max` elements
    /// (capped at the map's size), per-CPU values packed.
    pub fn lookup_batch(&self, cursor: Option<&[u8]>, max: u32) -> Result<Entries> {
        let max = max.clamp(1, self.info.max_entries.max(1));
        let page = sys::map_lookup_batch(self.fd(), self.element, cursor, max)
            .with_context(|| format!("batch lookup of map {:?}", self.name()))?;
        let mut values = page.values;
        if self.info.per_cpu {
            let size = self.info.value_size as usize;
            let len = pack_per_cpu(&mut values, size, size.next_multiple_of(8));
            values.truncate(len);
        }
        Ok(Entries { count: page.count, keys: page.keys, values, next: page.next })
    }

    /// `update-batch`; per-CPU values come packed, as `lookup-batch` gives them.
    pub fn update_batch(&self, keys: &[u8], values: &[u8], flag: UpdateFlag) -> Result<u32> {
        let count = self.whole_keys(keys)?;
        let per_element = self.info.value_size as usize * if self.info.per_cpu { kernel::possible_cpus() } else { 1 };
        if values.len() != count * per_element {
            return Err(Error::invalid_argument(format!(
                "{count} keys need {} bytes of values, got {}",
                count * per_element,
                values.len()
            )));
        }
        let unpacked;
        let values = if self.info.per_cpu {
            let size = self.info.value_size as usize;
            unpacked = unpack_per_cpu(values, size, size.next_multiple_of(8));
            &unpacked[..]
        } else {
            values
        };
        sys::map_update_batch(self.fd(), self.element, keys, values, flag_bits(flag)).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::EEXIST) => Error::AlreadyExists(format!("map {:?}: a key exists (no-exist)", self.name())),
                Some(libc::ENOENT) => Error::not_found(format!("map {:?}: a key is missing (exist)", self.name())),
                _ => Error::from(e).context(format!("batch update of map {:?}", self.name())),
            }
        })
    }

    pub fn delete_batch(&self, keys: &[u8]) -> Result<u32> {
        self.whole_keys(keys)?;
        sys::map_delete_batch(self.fd(), self.element, keys).map_err(|(e, deleted)| match e.raw_os_error() {
            Some(libc::ENOENT) => {
                Error::not_found(format!("map {:?}: a key is missing ({deleted} deleted before it)", self.name()))
            }
            _ => Error::from(e).context(format!("batch delete of map {:?}", self.name())),
        })
    }

    fn whole_keys(&self, keys: &[u8]) -> Result<usize> {
        let size = self.element.key;
        if size == 0 || !keys.len().is_multiple_of(size) {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {size}-byte keys; {} bytes is not a whole number of keys",
                self.name(),
                keys.len()
            )));
        }
        Ok(keys.len() / size)
    }

    pub fn freeze(&self) -> Result<()> {
        self.handle.freeze().with_context(|| format!("freezing map {:?}", self.name()))
    }

    /// Whether `lookup-word`/`update-word` can serve this map.
    fn check_word_sized(&self) -> Result<()> {
        let (key, value) = (self.info.key_size, self.info.value_size);
        if self.info.per_cpu || self.element.keyless || key == 0 || key > 8 || value == 0 || value > 8 {
            return Err(Error::invalid_argument(format!(
                "map {:?} ({:?}, {key}-byte keys, {value}-byte values) has no word handle: it takes maps with \
                 keys and values of 1 to 8 bytes, not per-CPU",
                self.name(),
                self.info.map_type
            )));
        }
        Ok(())
    }

    /// `lookup-word`: key and value as the low bytes of little-endian numbers.
    pub fn lookup_word(&self, key: u64) -> Result<Option<u64>> {
        let key = key.to_le_bytes();
        let mut value = [0u8; 8];
        let value_size = self.element.value;
        let found = sys::map_lookup(self.fd(), self.element, &key[..self.element.key], &mut value[..value_size])
            .with_context(|| format!("lookup in map {:?}", self.name()))?;
        Ok(found.then(|| u64::from_le_bytes(value)))
    }

    /// `update-word`, numbers as for `lookup_word`.
    pub fn update_word(&self, key: u64, value: u64, flag: UpdateFlag) -> Result<()> {
        let (key, value) = (key.to_le_bytes(), value.to_le_bytes());
        self.raw_update(&key[..self.element.key], &value[..self.element.value], flag)
    }
}

/// Packs per-CPU values the kernel lays out in `stride`-byte slots into
/// `size`-byte values back to back, in place; returns the packed length.
fn pack_per_cpu(values: &mut [u8], size: usize, stride: usize) -> usize {
    let slots = values.len() / stride;
    if stride != size {
        for slot in 1..slots {
            values.copy_within(slot * stride..slot * stride + size, slot * size);
        }
    }
    slots * size
}

/// The kernel's layout of packed per-CPU values: each in a `stride`-byte slot.
fn unpack_per_cpu(values: &[u8], size: usize, stride: usize) -> Vec<u8> {
    if size == 0 {
        return Vec::new();
    }
    let mut slots = vec![0u8; values.len() / size * stride];
    for (slot, value) in slots.chunks_mut(stride).zip(values.chunks(size)) {
        slot[..size].copy_from_slice(value);
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cpu_values_pack_and_unpack() {
        // Three CPUs' 4-byte values in the kernel's 8-byte slots.
        let mut slots = vec![1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0];
        let kernel = slots.clone();
        let len = pack_per_cpu(&mut slots, 4, 8);
        assert_eq!(&slots[..len], &[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
        assert_eq!(unpack_per_cpu(&slots[..len], 4, 8), kernel);
        // 8-byte values need no moving.
        let mut aligned: Vec<u8> = (0..16).collect();
        assert_eq!(pack_per_cpu(&mut aligned, 8, 8), 16);
        assert_eq!(aligned, (0..16).collect::<Vec<u8>>());
    }
}
