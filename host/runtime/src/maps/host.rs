//! The `maps` interface linked function by function.
//!
//! These are the only implementations of the interface's functions (the
//! bindings' `Host` traits for `maps` are not implemented): keys and values
//! are copied from guest memory onto the host's stack (no host allocation
//! for those up to 64 bytes), and looked-up values are written straight
//! into the guest's allocation (`crate::abi`). The word functions skip the
//! resource borrow altogether.

use wasmtime::component::{Linker, LinkerInstance, Resource, ResourceType, WasmList};
use wasmtime::StoreContextMut;

use super::{BpfMap, ValueBuf};
use crate::abi::{List, WordResult};
use crate::bindings::maps::{Entries, UpdateFlag};
use crate::error::Returns;
use crate::{BpfCtxView, BpfView, Error, HostError, HostResult};

/// A copy of a guest list (a key, a value), on the stack when small; the
/// copy ends the borrow of the store, so the map can be looked up next.
fn copied<T: 'static>(store: &StoreContextMut<'_, T>, list: &WasmList<u8>) -> ValueBuf {
    let bytes = list.as_le_slice(store);
    let mut copy = ValueBuf::zeroed(bytes.len());
    copy.as_mut_slice().copy_from_slice(bytes);
    copy
}

fn map<'a>(view: &'a BpfCtxView<'_>, map: &Resource<BpfMap>) -> HostResult<&'a BpfMap> {
    Ok(view.table.get(map)?)
}

fn word_map<'a>(view: &'a BpfCtxView<'_>, handle: u32) -> HostResult<&'a BpfMap> {
    view.ctx.word_maps.get(handle as usize).ok_or_else(|| {
        Error::invalid_argument(format!("{handle} is not a map handle (bpf-map.word-handle gives them)")).into()
    })
}

/// Links `maps.bpf-map` and the word functions.
pub(crate) fn add_to_linker<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut maps = linker.instance(&crate::interface("maps"))?;
    maps.resource("bpf-map", ResourceType::host::<BpfMap>(), |mut store, rep| {
        store.data_mut().bpf().table.delete(Resource::<BpfMap>::new_own(rep))?;
        Ok(())
    })?;
    methods(&mut maps)?;
    word_functions(&mut maps)
}

fn methods<T: BpfView + 'static>(maps: &mut LinkerInstance<'_, T>) -> wasmtime::Result<()> {
    maps.func_wrap("[method]bpf-map.info", |mut store: StoreContextMut<'_, T>, (m,): (Resource<BpfMap>,)| {
        let view = store.data_mut().bpf();
        Ok((view.table.get(&m)?.info().clone(),))
    })?;
    maps.func_wrap(
        "[method]bpf-map.lookup",
        |mut store: StoreContextMut<'_, T>,
         (m, key): (Resource<BpfMap>, WasmList<u8>)|
         -> Returns<Option<List<ValueBuf>>> {
            let key = copied(&store, &key);
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.lookup(key.as_slice())?.map(List))))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update",
        |mut store: StoreContextMut<'_, T>,
         (m, key, value, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<()> {
            let (key, value) = (copied(&store, &key), copied(&store, &value));
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.update(key.as_slice(), value.as_slice(), flag)?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.delete",
        |mut store: StoreContextMut<'_, T>, (m, key): (Resource<BpfMap>, WasmList<u8>)| -> Returns<()> {
            let key = copied(&store, &key);
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.delete(key.as_slice())?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-and-delete",
        |mut store: StoreContextMut<'_, T>, (m, key): (Resource<BpfMap>, WasmList<u8>)| -> Returns<Option<Vec<u8>>> {
            let key = copied(&store, &key);
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.lookup_and_delete(key.as_slice())?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-per-cpu",
        |mut store: StoreContextMut<'_, T>,
         (m, key): (Resource<BpfMap>, WasmList<u8>)|
         -> Returns<Option<List<ValueBuf>>> {
            let key = copied(&store, &key);
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.lookup_per_cpu(key.as_slice())?.map(List))))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update-per-cpu",
        |mut store: StoreContextMut<'_, T>,
         (m, key, values, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<()> {
            let (key, values) = (copied(&store, &key), copied(&store, &values));
            let view = store.data_mut().bpf();
            HostError::returns(
                map(&view, &m).and_then(|m| Ok(m.update_per_cpu(key.as_slice(), values.as_slice(), flag)?)),
            )
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.keys",
        |mut store: StoreContextMut<'_, T>,
         (m, after, max): (Resource<BpfMap>, Option<WasmList<u8>>, u32)|
         -> Returns<Vec<u8>> {
            let after = after.map(|after| copied(&store, &after));
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.keys(after.as_ref().map(ValueBuf::as_slice), max)?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-batch",
        |mut store: StoreContextMut<'_, T>,
         (m, cursor, max): (Resource<BpfMap>, Option<WasmList<u8>>, u32)|
         -> Returns<Entries> {
            let cursor = cursor.map(|cursor| copied(&store, &cursor));
            let view = store.data_mut().bpf();
            HostError::returns(
                map(&view, &m).and_then(|m| Ok(m.lookup_batch(cursor.as_ref().map(ValueBuf::as_slice), max)?)),
            )
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update-batch",
        |mut store: StoreContextMut<'_, T>,
         (m, keys, values, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<u32> {
            let (keys, values) = (copied(&store, &keys), copied(&store, &values));
            let view = store.data_mut().bpf();
            HostError::returns(
                map(&view, &m).and_then(|m| Ok(m.update_batch(keys.as_slice(), values.as_slice(), flag)?)),
            )
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.delete-batch",
        |mut store: StoreContextMut<'_, T>, (m, keys): (Resource<BpfMap>, WasmList<u8>)| -> Returns<u32> {
            let keys = copied(&store, &keys);
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.delete_batch(keys.as_slice())?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.freeze",
        |mut store: StoreContextMut<'_, T>, (m,): (Resource<BpfMap>,)| -> Returns<()> {
            let view = store.data_mut().bpf();
            HostError::returns(map(&view, &m).and_then(|m| Ok(m.freeze()?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.word-handle",
        |mut store: StoreContextMut<'_, T>, (m,): (Resource<BpfMap>,)| -> Returns<u32> {
            HostError::returns(word_handle(store.data_mut().bpf(), &m))
        },
    )?;
    Ok(())
}

/// `word-handle`: a map of its own (the same kernel map, opened again), so
/// the handle outlives the guest's `bpf-map`; the same number every time.
fn word_handle(view: BpfCtxView<'_>, m: &Resource<BpfMap>) -> HostResult<u32> {
    let map = view.table.get(m)?;
    if let Some(handle) = map.word_handle.get() {
        return Ok(handle);
    }
    map.check_word_sized()?;
    let copy = BpfMap::reopen(map.info().id)?;
    let handle = u32::try_from(view.ctx.word_maps.len()).map_err(|_| Error::invalid_state("too many word handles"))?;
    view.ctx.word_maps.push(copy);
    map.word_handle.set(Some(handle));
    Ok(handle)
}

fn word_functions<T: BpfView + 'static>(maps: &mut LinkerInstance<'_, T>) -> wasmtime::Result<()> {
    maps.func_wrap(
        "lookup-word",
        |mut store: StoreContextMut<'_, T>, (handle, key): (u32, u64)| -> wasmtime::Result<(WordResult,)> {
            let view = store.data_mut().bpf();
            let found = HostError::split(word_map(&view, handle).and_then(|m| Ok(m.lookup_word(key)?)))?;
            Ok((WordResult(found),))
        },
    )?;
    maps.func_wrap(
        "update-word",
        |mut store: StoreContextMut<'_, T>, (handle, key, value, flag): (u32, u64, u64, UpdateFlag)| -> Returns<()> {
            let view = store.data_mut().bpf();
            HostError::returns(word_map(&view, handle).and_then(|m| Ok(m.update_word(key, value, flag)?)))
        },
    )?;
    Ok(())
}
