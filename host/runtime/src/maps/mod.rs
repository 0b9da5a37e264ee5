//! `bpflet:ebpf/maps`: element access on a BPF map through its fd.
//!
//! [`BpfMap`] does the kernel work (`sys::MapFd` makes the calls, so the
//! kernel's errno decides the error case: ENOENT is not-found, EEXIST
//! already-exists); `host` links every function of the interface, reading
//! keys and values in place in guest memory; `lower` writes looked-up
//! values straight into it.

mod host;
mod lower;

use std::os::fd::AsFd;

use libbpf_rs::{MapCore, MapHandle};

pub(crate) use self::host::add_to_linker;
pub(crate) use self::lower::ValueBuf;
use crate::bindings::maps::{Entries, MapInfo, MapType, UpdateFlag};
use crate::error::Context;
use crate::{kernel, sys, Error};

type Result<T> = std::result::Result<T, Error>;

/// A handle on a kernel map; holding it keeps the map alive.
pub struct BpfMap {
    map: sys::MapFd,
    info: MapInfo,
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
    /// The map open as `handle`, which keeps its name (the kernel's own is
    /// cut at 15 bytes).
    pub fn new(handle: MapHandle) -> Result<Self> {
        let fd = handle.as_fd().try_clone_to_owned().context("opening map")?;
        let map = sys::MapFd::new(fd).context("reading map info")?;
        let kernel = map.info();
        let info = MapInfo {
            name: handle.name().to_string_lossy().into_owned(),
            map_type: map_type_from_raw(kernel.type_),
            key_size: kernel.key_size,
            value_size: kernel.value_size,
            max_entries: kernel.max_entries,
            map_flags: kernel.map_flags,
            id: kernel.id,
            possible_cpus: kernel::possible_cpus() as u32,
            per_cpu: map.per_cpu(),
        };
        Ok(BpfMap { map, info, word_handle: std::cell::Cell::new(None) })
    }

    /// Opens the kernel map with id `id` again: a handle of its own.
    pub fn reopen(id: u32) -> Result<Self> {
        BpfMap::new(MapHandle::from_map_id(id).context("opening the map again")?)
    }

    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    fn name(&self) -> &str {
        &self.info.name
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if !self.map.keyless() && key.len() != self.map.key_len() {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {}-byte keys, got {} bytes",
                self.name(),
                self.map.key_len(),
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

    /// Refuses writes to a struct_ops map: an update registers its ops
    /// with the kernel (a TCP congestion control, a scheduler), and a
    /// registration made that way outlives the program; libbpf registers
    /// them through a bpf_link, which goes with it.
    fn refuse_struct_ops(&self, op: &str) -> Result<()> {
        if self.info.map_type == MapType::StructOps {
            return Err(Error::unsupported(format!(
                "{op} on struct_ops map {:?}: an update would register its ops beyond the program's life",
                self.name()
            )));
        }
        Ok(())
    }

    /// Values as the kernel copies them, packed in place as the WIT has
    /// them (per-CPU values `value-size` apart, not in 8-byte slots);
    /// returns their packed length.
    fn pack(&self, kernel: &mut [u8]) -> usize {
        pack_slots(kernel, self.info.value_size as usize, self.map.slot_len())
    }

    /// Packed values as the kernel takes them.
    fn unpack<'a>(&self, values: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        let (size, slot) = (self.info.value_size as usize, self.map.slot_len());
        if size == slot {
            return values.into();
        }
        unpack_slots(values, size, slot).into()
    }

    /// An update's errno in the flag's terms: EEXIST under no-exist,
    /// ENOENT under exist.
    fn update_error(&self, error: std::io::Error, what: &str) -> Error {
        match error.raw_os_error() {
            Some(libc::EEXIST) => Error::AlreadyExists(format!("map {:?}: {what} exists (no-exist)", self.name())),
            Some(libc::ENOENT) => Error::not_found(format!("map {:?}: {what} is missing (exist)", self.name())),
            _ => Error::from(error).context(format!("update of map {:?}", self.name())),
        }
    }

    /// `lookup`: the value under `key`, if any.
    pub fn lookup(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_per_cpu(false, "lookup")?;
        self.check_key(key)?;
        let mut value = ValueBuf::zeroed(self.map.value_len());
        let found =
            self.map.lookup(key, value.as_mut_slice()).with_context(|| format!("lookup in map {:?}", self.name()))?;
        Ok(found.then_some(value))
    }

    /// `update`, with the kernel's EEXIST and ENOENT said in the flag's terms.
    pub fn update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        self.refuse_struct_ops("update")?;
        self.require_per_cpu(false, "update")?;
        self.check_key(key)?;
        self.check_value(value)?;
        self.map.update(key, value, flag_bits(flag)).map_err(|e| self.update_error(e, "the key"))
    }

    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.check_key(key)?;
        self.map.delete(key).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => Error::not_found(format!("map {:?}: no such key", self.name())),
            _ => Error::from(e).context(format!("delete from map {:?}", self.name())),
        })
    }

    /// `lookup-and-delete`; per-CPU maps give every CPU's value, packed.
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.map.value_len()];
        let found = self
            .map
            .lookup_and_delete(key, &mut value)
            .with_context(|| format!("lookup-and-delete on map {:?}", self.name()))?;
        let len = self.pack(&mut value);
        value.truncate(len);
        Ok(found.then_some(value))
    }

    /// `lookup-per-cpu`: the values of every possible CPU, back to back.
    pub fn lookup_per_cpu(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_per_cpu(true, "lookup-per-cpu")?;
        self.check_key(key)?;
        let mut value = ValueBuf::zeroed(self.map.value_len());
        let found = self
            .map
            .lookup(key, value.as_mut_slice())
            .with_context(|| format!("lookup-per-cpu in map {:?}", self.name()))?;
        if !found {
            return Ok(None);
        }
        let len = self.pack(value.as_mut_slice());
        value.truncate(len);
        Ok(Some(value))
    }

    pub fn update_per_cpu(&self, key: &[u8], values: &[u8], flag: UpdateFlag) -> Result<()> {
        self.require_per_cpu(true, "update-per-cpu")?;
        self.check_key(key)?;
        let (cpus, size) = (self.map.slots(), self.info.value_size as usize);
        if values.len() != size * cpus {
            return Err(Error::invalid_argument(format!(
                "map {:?} takes {cpus} values of {size} bytes (one per possible CPU), got {} bytes",
                self.name(),
                values.len()
            )));
        }
        self.map.update(key, &self.unpack(values), flag_bits(flag)).map_err(|e| self.update_error(e, "the key"))
    }

    /// `keys`: up to `max` keys after `after`. Most maps hold at most
    /// `max-entries` keys, which then bounds the host memory a walk takes;
    /// cgroup storage reports 0 entries and is walked to its end.
    pub fn keys(&self, after: Option<&[u8]>, max: u32) -> Result<Vec<u8>> {
        if self.map.keyless() {
            return Err(Error::invalid_argument(format!(
                "map {:?} ({:?}) has no keys",
                self.name(),
                self.info.map_type
            )));
        }
        if let Some(after) = after {
            self.check_key(after)?;
        }
        let bound = if self.info.max_entries > 0 { max.min(self.info.max_entries) } else { max };
        let size = self.map.key_len();
        let mut out = Vec::with_capacity(size * (bound as usize).min(4096));
        let mut next = vec![0u8; size];
        let mut previous: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        for _ in 0..bound {
            let found = self
                .map
                .next_key(previous.as_deref(), &mut next)
                .with_context(|| format!("key walk of map {:?}", self.name()))?;
            if !found {
                break;
            }
            out.extend_from_slice(&next);
            previous = Some(next.clone());
        }
        Ok(out)
    }

    /// `lookup-batch`: one kernel batch lookup of up to `max` elements,
    /// per-CPU values packed. Fewer when the map holds fewer, or when their
    /// keys and values would take more than 64 MiB (see `sys`).
    pub fn lookup_batch(&self, cursor: Option<&[u8]>, max: u32) -> Result<Entries> {
        let max = if self.info.max_entries > 0 { max.min(self.info.max_entries) } else { max };
        let page =
            self.map.lookup_batch(cursor, max).with_context(|| format!("batch lookup of map {:?}", self.name()))?;
        let mut values = page.values;
        let len = self.pack(&mut values);
        values.truncate(len);
        Ok(Entries { count: page.count, keys: page.keys, values, next: page.next })
    }

    /// `update-batch`; per-CPU values come packed, as `lookup-batch` gives them.
    pub fn update_batch(&self, keys: &[u8], values: &[u8], flag: UpdateFlag) -> Result<u32> {
        self.refuse_struct_ops("update-batch")?;
        let count = self.whole_keys(keys)? as usize;
        let per_element = self.info.value_size as usize * self.map.slots();
        if values.len() != count * per_element {
            return Err(Error::invalid_argument(format!(
                "{count} keys need {} bytes of values, got {}",
                count * per_element,
                values.len()
            )));
        }
        self.map.update_batch(keys, &self.unpack(values), flag_bits(flag)).map_err(|e| self.update_error(e, "a key"))
    }

    pub fn delete_batch(&self, keys: &[u8]) -> Result<u32> {
        self.whole_keys(keys)?;
        self.map.delete_batch(keys).map_err(|(e, deleted)| match e.raw_os_error() {
            Some(libc::ENOENT) => {
                Error::not_found(format!("map {:?}: a key is missing ({deleted} deleted before it)", self.name()))
            }
            _ => Error::from(e).context(format!("batch delete of map {:?}", self.name())),
        })
    }

    fn whole_keys(&self, keys: &[u8]) -> Result<u32> {
        self.map.whole_keys(keys).map_err(|_| {
            Error::invalid_argument(format!(
                "map {:?} has {}-byte keys; {} bytes is not a whole number of keys",
                self.name(),
                self.map.key_len(),
                keys.len()
            ))
        })
    }

    pub fn freeze(&self) -> Result<()> {
        self.map.freeze().with_context(|| format!("freezing map {:?}", self.name()))
    }

    /// Whether `lookup-word`/`update-word` can serve this map.
    fn check_word_sized(&self) -> Result<()> {
        let (key, value) = (self.info.key_size, self.info.value_size);
        if self.info.per_cpu || self.map.keyless() || key == 0 || key > 8 || value == 0 || value > 8 {
            return Err(Error::invalid_argument(format!(
                "map {:?} ({:?}, {key}-byte keys, {value}-byte values) has no word handle: it takes maps with \
                 keys and values of 1 to 8 bytes, not per-CPU",
                self.name(),
                self.info.map_type
            )));
        }
        Ok(())
    }

    /// `lookup-word`: key and value as the low bytes of little-endian
    /// numbers (the map passed `check_word_sized`).
    pub fn lookup_word(&self, key: u64) -> Result<Option<u64>> {
        let key = key.to_le_bytes();
        let mut value = [0u8; 8];
        let (key_len, value_len) = (self.map.key_len().min(8), self.map.value_len().min(8));
        let found = self
            .map
            .lookup(&key[..key_len], &mut value[..value_len])
            .with_context(|| format!("lookup in map {:?}", self.name()))?;
        Ok(found.then(|| u64::from_le_bytes(value)))
    }

    /// `update-word`, numbers as for `lookup_word`.
    pub fn update_word(&self, key: u64, value: u64, flag: UpdateFlag) -> Result<()> {
        self.refuse_struct_ops("update-word")?;
        let (key, value) = (key.to_le_bytes(), value.to_le_bytes());
        let (key_len, value_len) = (self.map.key_len().min(8), self.map.value_len().min(8));
        self.map
            .update(&key[..key_len], &value[..value_len], flag_bits(flag))
            .map_err(|e| self.update_error(e, "the key"))
    }
}

/// Packs values the kernel lays out in `slot`-byte slots into `size`-byte
/// values back to back, in place; returns the packed length.
fn pack_slots(values: &mut [u8], size: usize, slot: usize) -> usize {
    if slot == size || slot == 0 {
        return values.len();
    }
    let slots = values.len() / slot;
    for index in 1..slots {
        values.copy_within(index * slot..index * slot + size, index * size);
    }
    slots * size
}

/// The kernel's layout of packed values: each in a `slot`-byte slot.
fn unpack_slots(values: &[u8], size: usize, slot: usize) -> Vec<u8> {
    if size == 0 {
        return Vec::new();
    }
    let mut slots = vec![0u8; values.len() / size * slot];
    for (slot, value) in slots.chunks_mut(slot).zip(values.chunks(size)) {
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
        let len = pack_slots(&mut slots, 4, 8);
        assert_eq!(&slots[..len], &[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
        assert_eq!(unpack_slots(&slots[..len], 4, 8), kernel);
        // 8-byte values need no moving.
        let mut aligned: Vec<u8> = (0..16).collect();
        assert_eq!(pack_slots(&mut aligned, 8, 8), 16);
        assert_eq!(aligned, (0..16).collect::<Vec<u8>>());
    }
}
