//! `bpflet:ebpf/maps`: element access on a BPF map through its fd.
//!
//! Calls go straight to libbpf's syscall wrappers so the kernel's errno
//! decides the error case (ENOENT → not-found, EEXIST → already-exists).

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{MapCore, MapHandle};
use wasmtime::component::{Linker, Resource, WasmList};
use wasmtime::StoreContextMut;

use crate::bindings::maps::{Entries, MapInfo, MapType, UpdateFlag};
use crate::lower::{ValueBuf, WordLookup};
use crate::types::Error;
use crate::{kernel, BpfCtxView, BpfView};

type Result<T> = std::result::Result<T, Error>;

/// A handle on a kernel map; holding it keeps the map alive.
pub struct BpfMap {
    handle: MapHandle,
    info: MapInfo,
    percpu: bool,
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
    (match flag {
        UpdateFlag::Any => libbpf_sys::BPF_ANY,
        UpdateFlag::NoExist => libbpf_sys::BPF_NOEXIST,
        UpdateFlag::Exist => libbpf_sys::BPF_EXIST,
    }) as u64
}

/// libbpf's wrappers return -errno (libbpf 1.0 mode). The context is
/// built only on failure: these calls are on the guest's hot path.
fn check(rc: i32, context: impl FnOnce() -> String) -> Result<()> {
    if rc < 0 {
        Err(Error::from_errno(-rc, &context()))
    } else {
        Ok(())
    }
}

impl BpfMap {
    pub fn new(handle: MapHandle) -> Result<Self> {
        let raw_type = handle.map_type() as u32;
        let mut info = libbpf_sys::bpf_map_info::default();
        let mut len = std::mem::size_of_val(&info) as u32;
        // SAFETY: info is a properly sized, writable bpf_map_info.
        let rc = unsafe { libbpf_sys::bpf_map_get_info_by_fd(handle.as_fd().as_raw_fd(), &mut info, &mut len) };
        check(rc, || "reading map info".into())?;
        let name = handle.name().to_string_lossy().into_owned();
        let percpu = handle.map_type().is_percpu();
        let info = MapInfo {
            name,
            map_type: map_type_from_raw(raw_type),
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
            map_flags: info.map_flags,
            id: info.id,
            possible_cpus: kernel::possible_cpus() as u32,
        };
        Ok(BpfMap { handle, info, percpu, word_handle: std::cell::Cell::new(None) })
    }

    pub fn info(&self) -> &MapInfo {
        &self.info
    }

    pub fn fd(&self) -> i32 {
        self.handle.as_fd().as_raw_fd()
    }

    pub fn is_percpu(&self) -> bool {
        self.percpu
    }

    /// Bytes of one element's value as the kernel copies it: per-CPU maps
    /// hold one 8-byte-aligned slot per possible CPU.
    pub fn value_buffer_size(&self) -> usize {
        if self.percpu {
            (self.info.value_size as usize).next_multiple_of(8) * kernel::possible_cpus()
        } else {
            self.info.value_size as usize
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() != self.info.key_size as usize {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {}-byte keys, got {} bytes",
                self.info.name,
                self.info.key_size,
                key.len()
            )));
        }
        Ok(())
    }

    fn check_keys(&self, keys: &[u8]) -> Result<u32> {
        let size = self.info.key_size as usize;
        if size == 0 || !keys.len().is_multiple_of(size) {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {size}-byte keys; {} bytes is not a whole number of keys",
                self.info.name,
                keys.len()
            )));
        }
        Ok((keys.len() / size) as u32)
    }

    fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() != self.info.value_size as usize {
            return Err(Error::invalid_argument(format!(
                "map {:?} has {}-byte values, got {} bytes",
                self.info.name,
                self.info.value_size,
                value.len()
            )));
        }
        Ok(())
    }

    fn require_percpu(&self, percpu: bool, op: &str) -> Result<()> {
        if self.percpu != percpu {
            let hint = if self.percpu { "use the per-CPU call" } else { "it is not a per-CPU map" };
            return Err(Error::invalid_argument(format!("{op} on map {:?}: {hint}", self.info.name)));
        }
        Ok(())
    }

    /// Queues, stacks and bloom filters have no key; everything else does.
    fn keyless(&self) -> bool {
        matches!(self.info.map_type, MapType::Queue | MapType::Stack | MapType::BloomFilter)
    }

    fn raw_lookup(&self, key: &[u8], out: &mut [u8], context: &str) -> Result<bool> {
        let key_ptr = if self.keyless() { std::ptr::null() } else { key.as_ptr().cast() };
        // SAFETY: key has key_size bytes (checked), out has the value size.
        let rc = unsafe { libbpf_sys::bpf_map_lookup_elem(self.fd(), key_ptr, out.as_mut_ptr().cast()) };
        match rc {
            0 => Ok(true),
            rc if -rc == libc::ENOENT => Ok(false),
            rc => Err(Error::from_errno(-rc, context)),
        }
    }

    pub fn lookup(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_percpu(false, "lookup")?;
        if !self.keyless() {
            self.check_key(key)?;
        }
        let mut value = ValueBuf::zeroed(self.value_buffer_size());
        Ok(self.raw_lookup(key, value.as_mut_slice(), "lookup")?.then_some(value))
    }

    fn raw_update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        let key_ptr = if self.keyless() { std::ptr::null() } else { key.as_ptr().cast() };
        // SAFETY: sizes were checked by the callers.
        let rc = unsafe { libbpf_sys::bpf_map_update_elem(self.fd(), key_ptr, value.as_ptr().cast(), flag_bits(flag)) };
        match rc {
            rc if -rc == libc::EEXIST => {
                Err(Error::AlreadyExists(format!("map {:?}: the key exists (no-exist)", self.info.name)))
            }
            rc if -rc == libc::ENOENT => {
                Err(Error::not_found(format!("map {:?}: no such key (exist)", self.info.name)))
            }
            rc => check(rc, || format!("update of map {:?}", self.info.name)),
        }
    }

    pub fn update(&self, key: &[u8], value: &[u8], flag: UpdateFlag) -> Result<()> {
        self.require_percpu(false, "update")?;
        if !self.keyless() {
            self.check_key(key)?;
        }
        self.check_value(value)?;
        self.raw_update(key, value, flag)
    }

    pub fn delete(&self, key: &[u8]) -> Result<()> {
        self.check_key(key)?;
        // SAFETY: key has key_size bytes.
        let rc = unsafe { libbpf_sys::bpf_map_delete_elem(self.fd(), key.as_ptr().cast()) };
        if -rc == libc::ENOENT {
            return Err(Error::not_found(format!("map {:?}: no such key", self.info.name)));
        }
        check(rc, || format!("delete from map {:?}", self.info.name))
    }

    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.keyless() {
            self.check_key(key)?;
        }
        let mut value = vec![0u8; self.value_buffer_size()];
        let key_ptr = if self.keyless() { std::ptr::null() } else { key.as_ptr().cast() };
        // SAFETY: sizes as for lookup.
        let rc = unsafe { libbpf_sys::bpf_map_lookup_and_delete_elem(self.fd(), key_ptr, value.as_mut_ptr().cast()) };
        match rc {
            0 => Ok(Some(value)),
            rc if -rc == libc::ENOENT => Ok(None),
            rc => Err(Error::from_errno(-rc, &format!("lookup-and-delete on map {:?}", self.info.name))),
        }
    }

    /// The values of every possible CPU, back to back: the kernel pads
    /// each to 8 bytes, the WIT does not.
    pub fn lookup_percpu(&self, key: &[u8]) -> Result<Option<ValueBuf>> {
        self.require_percpu(true, "lookup-percpu")?;
        self.check_key(key)?;
        let mut raw = ValueBuf::zeroed(self.value_buffer_size());
        if !self.raw_lookup(key, raw.as_mut_slice(), "lookup-percpu")? {
            return Ok(None);
        }
        let size = self.info.value_size as usize;
        let stride = size.next_multiple_of(8);
        if stride != size {
            let bytes = raw.as_mut_slice();
            let cpus = bytes.len() / stride;
            for cpu in 1..cpus {
                bytes.copy_within(cpu * stride..cpu * stride + size, cpu * size);
            }
            raw.truncate(cpus * size);
        }
        Ok(Some(raw))
    }

    pub fn update_percpu(&self, key: &[u8], values: &[u8], flag: UpdateFlag) -> Result<()> {
        self.require_percpu(true, "update-percpu")?;
        self.check_key(key)?;
        let cpus = kernel::possible_cpus();
        let size = self.info.value_size as usize;
        if size == 0 || values.len() != size * cpus {
            return Err(Error::invalid_argument(format!(
                "map {:?} takes {cpus} values of {size} bytes (one per possible CPU), got {} bytes",
                self.info.name,
                values.len()
            )));
        }
        let stride = size.next_multiple_of(8);
        if stride == size {
            return self.raw_update(key, values, flag);
        }
        let mut raw = vec![0u8; stride * cpus];
        for (slot, value) in raw.chunks_mut(stride).zip(values.chunks(size)) {
            slot[..size].copy_from_slice(value);
        }
        self.raw_update(key, &raw, flag)
    }

    pub fn keys(&self, after: Option<&[u8]>, max: u32) -> Result<Vec<u8>> {
        let size = self.info.key_size as usize;
        if let Some(after) = after {
            self.check_key(after)?;
        }
        let mut out = Vec::with_capacity(size * max.min(4096) as usize);
        let mut prev: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        let mut next = vec![0u8; size];
        for _ in 0..max {
            let prev_ptr = prev.as_ref().map_or(std::ptr::null(), |p| p.as_ptr().cast());
            // SAFETY: prev (if any) and next have key_size bytes.
            let rc = unsafe { libbpf_sys::bpf_map_get_next_key(self.fd(), prev_ptr, next.as_mut_ptr().cast()) };
            if -rc == libc::ENOENT {
                break;
            }
            check(rc, || format!("key walk of map {:?}", self.info.name))?;
            out.extend_from_slice(&next);
            prev = Some(next.clone());
        }
        Ok(out)
    }

    pub fn lookup_batch(&self, cursor: Option<&[u8]>, max: u32) -> Result<Entries> {
        let key_size = self.info.key_size as usize;
        let value_size = self.value_buffer_size();
        let max = max.max(1);
        let mut keys = vec![0u8; key_size * max as usize];
        let mut values = vec![0u8; value_size * max as usize];
        // The kernel's batch cursor: hash maps use a bucket index (u32),
        // arrays the key itself; a key-sized u64-aligned buffer fits both.
        let cursor_size = key_size.max(4).next_multiple_of(8);
        let mut out_batch = vec![0u8; cursor_size];
        let in_batch = cursor.map(|c| {
            let mut buf = vec![0u8; cursor_size];
            buf[..c.len().min(cursor_size)].copy_from_slice(&c[..c.len().min(cursor_size)]);
            buf
        });
        let mut count = max;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            ..Default::default()
        };
        // SAFETY: buffers hold `max` keys/values and a cursor of cursor_size bytes.
        let rc = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                self.fd(),
                in_batch.as_ref().map_or(std::ptr::null_mut(), |b| b.as_ptr() as *mut _),
                out_batch.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let done = -rc == libc::ENOENT;
        if rc < 0 && !done {
            return Err(Error::from_errno(-rc, &format!("batch lookup of map {:?}", self.info.name)));
        }
        keys.truncate(key_size * count as usize);
        values.truncate(value_size * count as usize);
        Ok(Entries { count, keys, values, next: (!done).then_some(out_batch) })
    }

    pub fn update_batch(&self, keys: &[u8], values: &[u8], flag: UpdateFlag) -> Result<u32> {
        let n = self.check_keys(keys)?;
        if values.len() != n as usize * self.value_buffer_size() {
            return Err(Error::invalid_argument(format!(
                "{n} keys need {} bytes of values, got {}",
                n as usize * self.value_buffer_size(),
                values.len()
            )));
        }
        let mut count = n;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            elem_flags: flag_bits(flag),
            ..Default::default()
        };
        // SAFETY: keys and values hold `n` elements each.
        let rc = unsafe {
            libbpf_sys::bpf_map_update_batch(self.fd(), keys.as_ptr().cast(), values.as_ptr().cast(), &mut count, &opts)
        };
        match rc {
            rc if -rc == libc::EEXIST => {
                Err(Error::AlreadyExists(format!("map {:?}: a key exists (no-exist)", self.info.name)))
            }
            rc if -rc == libc::ENOENT => {
                Err(Error::not_found(format!("map {:?}: a key is missing (exist)", self.info.name)))
            }
            rc => check(rc, || format!("batch update of map {:?}", self.info.name)).map(|()| count),
        }
    }

    pub fn delete_batch(&self, keys: &[u8]) -> Result<u32> {
        let mut count = self.check_keys(keys)?;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            ..Default::default()
        };
        // SAFETY: keys holds `count` keys.
        let rc = unsafe { libbpf_sys::bpf_map_delete_batch(self.fd(), keys.as_ptr().cast(), &mut count, &opts) };
        if -rc == libc::ENOENT {
            return Err(Error::not_found(format!(
                "map {:?}: a key is missing ({count} deleted before it)",
                self.info.name
            )));
        }
        check(rc, || format!("batch delete of map {:?}", self.info.name)).map(|()| count)
    }

    /// Whether `lookup-word`/`update-word` can serve this map.
    fn check_word_sized(&self) -> Result<()> {
        let (key, value) = (self.info.key_size, self.info.value_size);
        if self.percpu || self.keyless() || key == 0 || key > 8 || value == 0 || value > 8 {
            return Err(Error::invalid_argument(format!(
                "map {:?} ({:?}, {key}-byte keys, {value}-byte values) has no word handle: it takes maps with \
                 keys and values of 1 to 8 bytes, not per-CPU",
                self.info.name, self.info.map_type
            )));
        }
        Ok(())
    }

    /// `lookup-word`: key and value as the low bytes of little-endian numbers.
    pub fn lookup_word(&self, key: u64) -> Result<Option<u64>> {
        let key = key.to_le_bytes();
        let mut value = [0u8; 8];
        let (key_size, value_size) = (self.info.key_size as usize, self.info.value_size as usize);
        Ok(self.raw_lookup(&key[..key_size], &mut value[..value_size], "lookup")?.then(|| u64::from_le_bytes(value)))
    }

    /// `update-word`, numbers as for `lookup_word`.
    pub fn update_word(&self, key: u64, value: u64, flag: UpdateFlag) -> Result<()> {
        let (key, value) = (key.to_le_bytes(), value.to_le_bytes());
        self.raw_update(&key[..self.info.key_size as usize], &value[..self.info.value_size as usize], flag)
    }

    pub fn freeze(&self) -> Result<()> {
        self.handle.freeze().map_err(|e| Error::from_libbpf(&e, &format!("freezing map {:?}", self.info.name)))
    }
}

type WasmResult<T> = wasmtime::Result<Result<T>>;

impl crate::bindings::maps::Host for BpfCtxView<'_> {
    fn lookup_word(&mut self, map: u32, key: u64) -> WasmResult<Option<u64>> {
        Ok(self.word_map(map).and_then(|m| m.lookup_word(key)))
    }

    fn update_word(&mut self, map: u32, key: u64, value: u64, flag: UpdateFlag) -> WasmResult<()> {
        Ok(self.word_map(map).and_then(|m| m.update_word(key, value, flag)))
    }
}

impl BpfCtxView<'_> {
    fn word_map(&self, handle: u32) -> Result<&BpfMap> {
        self.ctx.word_maps.get(handle as usize).ok_or_else(|| {
            Error::invalid_argument(format!("{handle} is not a map handle (bpf-map.word-handle gives them)"))
        })
    }
}

impl crate::bindings::maps::HostBpfMap for BpfCtxView<'_> {
    fn word_handle(&mut self, map: Resource<BpfMap>) -> WasmResult<u32> {
        let map = self.table.get(&map)?;
        if let Some(handle) = map.word_handle.get() {
            return Ok(Ok(handle));
        }
        if let Err(e) = map.check_word_sized() {
            return Ok(Err(e));
        }
        // A map of its own (the same kernel map, opened again), so the
        // handle outlives the guest's bpf-map.
        let reopened = match MapHandle::from_map_id(map.info.id) {
            Ok(handle) => BpfMap::new(handle),
            Err(e) => Err(Error::from_libbpf(&e, "opening the map again for its word handle")),
        };
        Ok(reopened.map(|copy| {
            let handle = self.ctx.word_maps.len() as u32;
            self.ctx.word_maps.push(copy);
            map.word_handle.set(Some(handle));
            handle
        }))
    }

    fn info(&mut self, map: Resource<BpfMap>) -> wasmtime::Result<MapInfo> {
        Ok(self.table.get(&map)?.info.clone())
    }

    fn lookup(&mut self, map: Resource<BpfMap>, key: Vec<u8>) -> WasmResult<Option<Vec<u8>>> {
        Ok(self.table.get(&map)?.lookup(&key).map(|v| v.map(|v| v.as_slice().to_vec())))
    }

    fn update(&mut self, map: Resource<BpfMap>, key: Vec<u8>, value: Vec<u8>, flag: UpdateFlag) -> WasmResult<()> {
        Ok(self.table.get(&map)?.update(&key, &value, flag))
    }

    fn delete(&mut self, map: Resource<BpfMap>, key: Vec<u8>) -> WasmResult<()> {
        Ok(self.table.get(&map)?.delete(&key))
    }

    fn lookup_and_delete(&mut self, map: Resource<BpfMap>, key: Vec<u8>) -> WasmResult<Option<Vec<u8>>> {
        Ok(self.table.get(&map)?.lookup_and_delete(&key))
    }

    fn lookup_percpu(&mut self, map: Resource<BpfMap>, key: Vec<u8>) -> WasmResult<Option<Vec<u8>>> {
        Ok(self.table.get(&map)?.lookup_percpu(&key).map(|v| v.map(|v| v.as_slice().to_vec())))
    }

    fn update_percpu(
        &mut self,
        map: Resource<BpfMap>,
        key: Vec<u8>,
        values: Vec<u8>,
        flag: UpdateFlag,
    ) -> WasmResult<()> {
        Ok(self.table.get(&map)?.update_percpu(&key, &values, flag))
    }

    fn keys(&mut self, map: Resource<BpfMap>, after: Option<Vec<u8>>, max: u32) -> WasmResult<Vec<u8>> {
        Ok(self.table.get(&map)?.keys(after.as_deref(), max))
    }

    fn lookup_batch(&mut self, map: Resource<BpfMap>, cursor: Option<Vec<u8>>, max: u32) -> WasmResult<Entries> {
        Ok(self.table.get(&map)?.lookup_batch(cursor.as_deref(), max))
    }

    fn update_batch(
        &mut self,
        map: Resource<BpfMap>,
        keys: Vec<u8>,
        values: Vec<u8>,
        flag: UpdateFlag,
    ) -> WasmResult<u32> {
        Ok(self.table.get(&map)?.update_batch(&keys, &values, flag))
    }

    fn delete_batch(&mut self, map: Resource<BpfMap>, keys: Vec<u8>) -> WasmResult<u32> {
        Ok(self.table.get(&map)?.delete_batch(&keys))
    }

    fn freeze(&mut self, map: Resource<BpfMap>) -> WasmResult<()> {
        Ok(self.table.get(&map)?.freeze())
    }

    fn drop(&mut self, map: Resource<BpfMap>) -> wasmtime::Result<()> {
        self.table.delete(map)?;
        Ok(())
    }
}

/// Links the single-element calls (`lookup`, `update`, `lookup-percpu`,
/// and `lookup-word`'s result) over
/// the bindings' versions: keys and values are read in place from guest
/// memory and results written straight into it (`crate::lower`), so a call
/// allocates nothing on the host. The bindings' versions above do the same
/// work through owned vectors. The linker must allow shadowing.
pub fn add_fast_calls<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    type Out<R> = wasmtime::Result<(Result<R>,)>;
    let mut maps = linker.instance("bpflet:ebpf/maps@0.1.0")?;
    maps.func_wrap(
        "[method]bpf-map.lookup",
        |mut store: StoreContextMut<'_, T>, (map, key): (Resource<BpfMap>, WasmList<u8>)| -> Out<Option<ValueBuf>> {
            let map: *const BpfMap = store.data_mut().bpf().table.get(&map)?;
            // SAFETY: the map is boxed in the resource table, which
            // nothing changes during this call.
            Ok((unsafe { &*map }.lookup(key.as_le_slice(&store)),))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update",
        |mut store: StoreContextMut<'_, T>,
         (map, key, value, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Out<()> {
            let map: *const BpfMap = store.data_mut().bpf().table.get(&map)?;
            // SAFETY: as above.
            Ok((unsafe { &*map }.update(key.as_le_slice(&store), value.as_le_slice(&store), flag),))
        },
    )?;
    maps.func_wrap(
        "lookup-word",
        |mut store: StoreContextMut<'_, T>, (handle, key): (u32, u64)| -> wasmtime::Result<(WordLookup,)> {
            let view = store.data_mut().bpf();
            Ok((WordLookup(view.word_map(handle).and_then(|m| m.lookup_word(key))),))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-percpu",
        |mut store: StoreContextMut<'_, T>, (map, key): (Resource<BpfMap>, WasmList<u8>)| -> Out<Option<ValueBuf>> {
            let map: *const BpfMap = store.data_mut().bpf().table.get(&map)?;
            // SAFETY: as above.
            Ok((unsafe { &*map }.lookup_percpu(key.as_le_slice(&store)),))
        },
    )
}
