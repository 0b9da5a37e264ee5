//! Typed views of BPF maps.
//!
//! Each wrapper is built from an untyped [`BpfMap`] (`TryFrom` or `new`),
//! which checks once that the map's type, key size and value size fit the
//! Rust types, so the calls afterwards cannot send the kernel a wrong-sized
//! key. Keys and values are [`Pod`]: plain data whose bytes are exactly
//! what the BPF program reads and writes (use `#[repr(C)]` structs).

use core::marker::PhantomData;
use core::mem::size_of;

use bytemuck::Pod;

use crate::bindings::bpflet::ebpf::maps::{self as wit, Entries};
use crate::{BpfMap, Error, MapInfo, MapType, Result, UpdateFlag};

/// Elements fetched per host call when walking a map: large enough that the
/// boundary crossing is amortised, small enough to keep pages cheap.
const PAGE: u32 = 256;

/// What a typed map views: a hash map or an array (each plain or per-CPU).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Hash,
    Array,
}

/// Checks `map` against the wrapper's expectations and returns its info.
/// Arrays are checked with `K = u32`, their index. Whether the map is
/// per-CPU comes from [`MapInfo::per_cpu`], not from its type.
fn check<K, V>(map: &BpfMap, wrapper: &str, kind: Kind, per_cpu: bool) -> Result<MapInfo> {
    let info = map.info();
    let fits = match kind {
        Kind::Hash => {
            matches!(info.map_type, MapType::Hash | MapType::LruHash | MapType::PercpuHash | MapType::LruPercpuHash)
        }
        Kind::Array => matches!(info.map_type, MapType::Array | MapType::PercpuArray),
    };
    if !fits || info.per_cpu != per_cpu {
        let what = match (kind, per_cpu) {
            (Kind::Hash, false) => "a hash map",
            (Kind::Hash, true) => "a per-CPU hash map",
            (Kind::Array, false) => "an array",
            (Kind::Array, true) => "a per-CPU array",
        };
        let per_cpu = if info.per_cpu { ", per-CPU" } else { "" };
        return Err(Error::invalid(format!(
            "map {:?} is {:?}{per_cpu}, not {what} as {wrapper} views",
            info.name, info.map_type
        )));
    }
    let key_size = size_of::<K>();
    if info.key_size as usize != key_size {
        return Err(Error::invalid(format!(
            "map {:?} has {}-byte keys, {} are {key_size} bytes",
            info.name,
            info.key_size,
            core::any::type_name::<K>()
        )));
    }
    if info.value_size as usize != size_of::<V>() {
        return Err(Error::invalid(format!(
            "map {:?} has {}-byte values, {} is {} bytes",
            info.name,
            info.value_size,
            core::any::type_name::<V>(),
            size_of::<V>()
        )));
    }
    Ok(info)
}

/// Reads a `T` from bytes the host returned, which must be exactly its size.
fn read<T: Pod>(bytes: &[u8]) -> Result<T> {
    bytemuck::try_pod_read_unaligned(bytes).map_err(|_| {
        Error::invalid(format!(
            "host returned {} bytes for {} ({} bytes)",
            bytes.len(),
            core::any::type_name::<T>(),
            size_of::<T>()
        ))
    })
}

/// Reads the values of one element of a per-CPU map: `cpus` values of `V`
/// back to back, CPU 0 first. The one layout of `lookup-per-cpu` and of
/// each element of a `lookup-batch` page.
fn read_per_cpu<V: Pod>(bytes: &[u8], cpus: usize) -> Result<Vec<V>> {
    if bytes.len() != cpus * size_of::<V>() {
        return Err(Error::invalid(format!(
            "host returned {} bytes for {cpus} per-CPU values of {} bytes",
            bytes.len(),
            size_of::<V>()
        )));
    }
    Ok(bytes.chunks_exact(size_of::<V>()).map(bytemuck::pod_read_unaligned).collect())
}

/// Accessors every typed map has; a macro because the wrappers share no trait.
macro_rules! common {
    () => {
        /// The untyped map, for calls the wrapper does not offer.
        pub fn map(&self) -> &BpfMap {
            &self.map
        }

        /// Gives back the untyped map.
        pub fn into_inner(self) -> BpfMap {
            self.map
        }

        /// The map's info as it was when the wrapper was built.
        pub fn info(&self) -> &MapInfo {
            &self.info
        }
    };
}

/// The map's `word-handle` when its keys and values fit in 8 bytes: the
/// typed maps then call `lookup-word`/`update-word`, which skip the cost of
/// a method call on a resource (about 100 ns with wasmtime 48).
fn word_handle<K, V>(map: &BpfMap) -> Option<u32> {
    (size_of::<K>() <= 8 && size_of::<V>() <= 8).then(|| map.word_handle().ok()).flatten()
}

/// `value` as the little-endian number `lookup-word`/`update-word` take.
fn to_word<T: Pod>(value: &T) -> u64 {
    let mut word = [0u8; 8];
    word[..size_of::<T>()].copy_from_slice(bytemuck::bytes_of(value));
    u64::from_le_bytes(word)
}

/// The `T` in the low bytes of a little-endian number.
fn from_word<T: Pod>(word: u64) -> T {
    bytemuck::pod_read_unaligned(&word.to_le_bytes()[..size_of::<T>()])
}

/// A `BPF_MAP_TYPE_HASH` or `BPF_MAP_TYPE_LRU_HASH` map with keys `K` and
/// values `V`.
pub struct HashMap<K, V> {
    map: BpfMap,
    info: MapInfo,
    word: Option<u32>,
    _types: PhantomData<fn(K) -> V>,
}

impl<K: Pod, V: Pod> HashMap<K, V> {
    /// Views `map`; `invalid-argument` when its type or sizes do not fit
    /// (a per-CPU map is a [`PerCpuHashMap`]).
    pub fn new(map: BpfMap) -> Result<Self> {
        let info = check::<K, V>(&map, "HashMap", Kind::Hash, false)?;
        let word = word_handle::<K, V>(&map);
        Ok(Self { map, info, word, _types: PhantomData })
    }

    /// The value under `key`, if any.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        if let Some(handle) = self.word {
            return Ok(wit::lookup_word(handle, to_word(key))?.map(from_word));
        }
        self.map.lookup(bytemuck::bytes_of(key))?.map(|v| read(&v)).transpose()
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn insert(&self, key: &K, value: &V) -> Result<()> {
        self.update(key, value, UpdateFlag::Any)
    }

    /// Stores `value` under `key`; `flag` says whether the key must be new
    /// (`already-exists` otherwise) or present (`not-found` otherwise).
    pub fn update(&self, key: &K, value: &V, flag: UpdateFlag) -> Result<()> {
        if let Some(handle) = self.word {
            return wit::update_word(handle, to_word(key), to_word(value), flag);
        }
        self.map.update(bytemuck::bytes_of(key), bytemuck::bytes_of(value), flag)
    }

    /// Removes `key`; `not-found` when it was absent.
    pub fn remove(&self, key: &K) -> Result<()> {
        self.map.delete(bytemuck::bytes_of(key))
    }

    /// The keys, fetched in pages. A hash map walk is not a snapshot: keys
    /// added or removed meanwhile may or may not show up.
    pub fn keys(&self) -> Keys<'_, K> {
        Keys::new(&self.map)
    }

    /// The elements, fetched a page at a time with one kernel batch lookup
    /// per page. Like [`keys`](Self::keys), not a snapshot.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(&self.map, |bytes, _| read(bytes), 1, size_of::<V>())
    }

    common!();
}

impl<K: Pod, V: Pod> TryFrom<BpfMap> for HashMap<K, V> {
    type Error = Error;

    fn try_from(map: BpfMap) -> Result<Self> {
        Self::new(map)
    }
}

/// A `BPF_MAP_TYPE_PERCPU_HASH` or `BPF_MAP_TYPE_LRU_PERCPU_HASH` map: every
/// key holds one `V` per possible CPU, which BPF programs update without
/// atomics. Sum (or otherwise merge) them in user space.
///
/// Values go in and come out as one `V` per possible CPU
/// ([`MapInfo::possible_cpus`] of them), CPU 0 first.
pub struct PerCpuHashMap<K, V> {
    map: BpfMap,
    info: MapInfo,
    _types: PhantomData<fn(K) -> V>,
}

impl<K: Pod, V: Pod> PerCpuHashMap<K, V> {
    /// Views `map`; `invalid-argument` when it is not a per-CPU hash map or
    /// its sizes do not fit.
    pub fn new(map: BpfMap) -> Result<Self> {
        let info = check::<K, V>(&map, "PerCpuHashMap", Kind::Hash, true)?;
        Ok(Self { map, info, _types: PhantomData })
    }

    /// The values under `key`, one per possible CPU, if any.
    pub fn get(&self, key: &K) -> Result<Option<Vec<V>>> {
        let cpus = self.info.possible_cpus as usize;
        self.map.lookup_per_cpu(bytemuck::bytes_of(key))?.map(|values| read_per_cpu(&values, cpus)).transpose()
    }

    /// Stores one value per possible CPU under `key`, replacing what was
    /// there.
    pub fn insert(&self, key: &K, values: &[V]) -> Result<()> {
        self.update(key, values, UpdateFlag::Any)
    }

    /// Stores one value per possible CPU under `key`; `flag` as for
    /// [`HashMap::update`].
    pub fn update(&self, key: &K, values: &[V], flag: UpdateFlag) -> Result<()> {
        self.map.update_per_cpu(bytemuck::bytes_of(key), bytemuck::cast_slice(values), flag)
    }

    /// Removes `key`; `not-found` when it was absent.
    pub fn remove(&self, key: &K) -> Result<()> {
        self.map.delete(bytemuck::bytes_of(key))
    }

    /// The keys, fetched in pages; not a snapshot.
    pub fn keys(&self) -> Keys<'_, K> {
        Keys::new(&self.map)
    }

    /// The elements with their per-CPU values, one kernel batch lookup per
    /// page; not a snapshot.
    pub fn iter(&self) -> Iter<'_, K, Vec<V>> {
        let cpus = self.info.possible_cpus as usize;
        Iter::new(&self.map, read_per_cpu, cpus, cpus * size_of::<V>())
    }

    common!();
}

impl<K: Pod, V: Pod> TryFrom<BpfMap> for PerCpuHashMap<K, V> {
    type Error = Error;

    fn try_from(map: BpfMap) -> Result<Self> {
        Self::new(map)
    }
}

/// A `BPF_MAP_TYPE_ARRAY`: `max_entries` values `V`, indexed from 0, all of
/// which always exist (zeroed until written).
pub struct Array<V> {
    map: BpfMap,
    info: MapInfo,
    word: Option<u32>,
    _types: PhantomData<fn() -> V>,
}

impl<V: Pod> Array<V> {
    /// Views `map`; `invalid-argument` when its type or sizes do not fit
    /// (a per-CPU array is a [`PerCpuArray`]).
    pub fn new(map: BpfMap) -> Result<Self> {
        let info = check::<u32, V>(&map, "Array", Kind::Array, false)?;
        let word = word_handle::<u32, V>(&map);
        Ok(Self { map, info, word, _types: PhantomData })
    }

    /// Number of elements.
    pub fn len(&self) -> u32 {
        self.info.max_entries
    }

    /// Whether the array has no elements (`max_entries` is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`; `not-found` when `index` is out of range.
    pub fn get(&self, index: u32) -> Result<V> {
        if let Some(handle) = self.word {
            return wit::lookup_word(handle, u64::from(index))?
                .map(from_word)
                .ok_or_else(|| out_of_range(index, &self.info));
        }
        match self.map.lookup(&index.to_ne_bytes())? {
            Some(value) => read(&value),
            None => Err(out_of_range(index, &self.info)),
        }
    }

    /// Writes the value at `index`.
    pub fn set(&self, index: u32, value: &V) -> Result<()> {
        if let Some(handle) = self.word {
            return wit::update_word(handle, u64::from(index), to_word(value), UpdateFlag::Any);
        }
        self.map.update(&index.to_ne_bytes(), bytemuck::bytes_of(value), UpdateFlag::Any)
    }

    common!();
}

impl<V: Pod> TryFrom<BpfMap> for Array<V> {
    type Error = Error;

    fn try_from(map: BpfMap) -> Result<Self> {
        Self::new(map)
    }
}

/// A `BPF_MAP_TYPE_PERCPU_ARRAY`: like [`Array`], with one `V` per possible
/// CPU at every index, CPU 0 first.
pub struct PerCpuArray<V> {
    map: BpfMap,
    info: MapInfo,
    _types: PhantomData<fn() -> V>,
}

impl<V: Pod> PerCpuArray<V> {
    /// Views `map`; `invalid-argument` when it is not a per-CPU array or
    /// its sizes do not fit.
    pub fn new(map: BpfMap) -> Result<Self> {
        let info = check::<u32, V>(&map, "PerCpuArray", Kind::Array, true)?;
        Ok(Self { map, info, _types: PhantomData })
    }

    /// Number of elements.
    pub fn len(&self) -> u32 {
        self.info.max_entries
    }

    /// Whether the array has no elements (`max_entries` is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values at `index`, one per possible CPU; `not-found` when
    /// `index` is out of range.
    pub fn get(&self, index: u32) -> Result<Vec<V>> {
        match self.map.lookup_per_cpu(&index.to_ne_bytes())? {
            Some(values) => read_per_cpu(&values, self.info.possible_cpus as usize),
            None => Err(out_of_range(index, &self.info)),
        }
    }

    /// Writes one value per possible CPU at `index`.
    pub fn set(&self, index: u32, values: &[V]) -> Result<()> {
        self.map.update_per_cpu(&index.to_ne_bytes(), bytemuck::cast_slice(values), UpdateFlag::Any)
    }

    common!();
}

impl<V: Pod> TryFrom<BpfMap> for PerCpuArray<V> {
    type Error = Error;

    fn try_from(map: BpfMap) -> Result<Self> {
        Self::new(map)
    }
}

fn out_of_range(index: u32, info: &MapInfo) -> Error {
    Error::NotFound(format!("index {index} is out of range for map {:?} of {} elements", info.name, info.max_entries))
}

/// The keys of a map, fetched 256 at a time with `keys(after, max)`.
/// Stops after the first error, which it yields.
pub struct Keys<'a, K> {
    map: &'a BpfMap,
    page: Vec<u8>,
    next: usize,
    /// Where the next page starts: the last key of the current page.
    after: Option<Vec<u8>>,
    done: bool,
    _key: PhantomData<fn() -> K>,
}

impl<'a, K: Pod> Keys<'a, K> {
    fn new(map: &'a BpfMap) -> Self {
        Self { map, page: Vec::new(), next: 0, after: None, done: false, _key: PhantomData }
    }

    fn fetch(&mut self) -> Result<()> {
        let page = self.map.keys(self.after.as_deref(), PAGE)?;
        let size = size_of::<K>();
        if page.len() % size != 0 || page.len() / size > PAGE as usize {
            return Err(Error::invalid(format!("host returned {} bytes of {size}-byte keys", page.len())));
        }
        // Fewer keys than asked for: the walk is over after this page.
        self.done = page.len() / size < PAGE as usize;
        self.after = page.len().checked_sub(size).map(|last| page[last..].to_vec());
        self.page = page;
        self.next = 0;
        Ok(())
    }
}

impl<K: Pod> Iterator for Keys<'_, K> {
    type Item = Result<K>;

    fn next(&mut self) -> Option<Self::Item> {
        let size = size_of::<K>();
        if self.next >= self.page.len() {
            if self.done {
                return None;
            }
            if let Err(error) = self.fetch() {
                self.done = true;
                self.page.clear();
                return Some(Err(error));
            }
            if self.page.is_empty() {
                return None;
            }
        }
        let key = read(&self.page[self.next..self.next + size]);
        self.next += size;
        Some(key)
    }
}

/// The elements of a map, fetched 256 at a time with `lookup-batch`.
/// Stops after the first error, which it yields.
pub struct Iter<'a, K, V> {
    map: &'a BpfMap,
    page: Entries,
    next: u32,
    /// Where the next page starts; `None` before the first page.
    cursor: Option<Vec<u8>>,
    /// Whether the last page fetched was the map's last.
    done: bool,
    /// Reads one element's value bytes, given the number of CPUs.
    decode: fn(&[u8], usize) -> Result<V>,
    /// Values per element: 1, or the possible CPUs of a per-CPU map.
    cpus: usize,
    /// Bytes per element in `page.values`: the value size times `cpus`.
    stride: usize,
    _key: PhantomData<fn() -> K>,
}

impl<'a, K: Pod, V> Iter<'a, K, V> {
    fn new(map: &'a BpfMap, decode: fn(&[u8], usize) -> Result<V>, cpus: usize, stride: usize) -> Self {
        let page = Entries { count: 0, keys: Vec::new(), values: Vec::new(), next: None };
        Self { map, page, next: 0, cursor: None, done: false, decode, cpus, stride, _key: PhantomData }
    }

    /// Fetches pages until one has elements or the walk is over.
    fn fetch(&mut self) -> Result<()> {
        while self.next >= self.page.count && !self.done {
            let mut page = self.map.lookup_batch(self.cursor.as_deref(), PAGE)?;
            let count = page.count as usize;
            if page.keys.len() != count * size_of::<K>() || page.values.len() != count * self.stride {
                return Err(Error::invalid(format!(
                    "host returned {count} elements with {} key bytes and {} value bytes",
                    page.keys.len(),
                    page.values.len()
                )));
            }
            self.cursor = page.next.take();
            self.done = self.cursor.is_none();
            self.page = page;
            self.next = 0;
        }
        Ok(())
    }
}

impl<K: Pod, V> Iterator for Iter<'_, K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(error) = self.fetch() {
            self.done = true;
            self.page.count = 0;
            return Some(Err(error));
        }
        if self.next >= self.page.count {
            return None;
        }
        let index = self.next as usize;
        self.next += 1;
        // `fetch` checked the page's sizes: these slices are in bounds.
        let key_size = size_of::<K>();
        let key = &self.page.keys[index * key_size..][..key_size];
        let value = &self.page.values[index * self.stride..][..self.stride];
        Some(read(key).and_then(|key| Ok((key, (self.decode)(value, self.cpus)?))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_cpu_values_are_packed_value_size_apart() {
        // Three CPUs of 4-byte values, as lookup-per-cpu and batch pages
        // have them: no padding to 8 bytes.
        let bytes: Vec<u8> = [7u32, 8, 9].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(read_per_cpu::<u32>(&bytes, 3).unwrap(), [7, 8, 9]);
        assert!(read_per_cpu::<u32>(&bytes, 2).is_err());
        assert!(read_per_cpu::<u64>(&bytes, 3).is_err());
    }
}
