//! The `maps` interface linked function by function.
//!
//! These are the only implementations of the interface's functions (the
//! bindings' `Host` traits for `maps` are not implemented): keys and values
//! are read in place in guest memory (`with_map`), and looked-up values are
//! written straight into the guest's allocation (`crate::abi`), so a call
//! allocates nothing on the host for values of up to 64 bytes. The word
//! functions skip the resource borrow altogether.

use wasmtime::component::{Linker, LinkerInstance, Resource, ResourceType, WasmList};
use wasmtime::StoreContextMut;

use super::{BpfMap, ValueBuf};
use crate::abi::{List, WordResult};
use crate::bindings::maps::{Entries, UpdateFlag};
use crate::error::Returns;
use crate::{BpfCtxView, BpfView, Error, HostError, HostResult, Limit};

/// Calls `f` with the map `m` and the store, through which `f` reads its
/// keys and values in place in guest memory (`WasmList::as_le_slice`):
/// no copy of them on the host.
fn with_map<T: BpfView + 'static, R>(
    mut store: StoreContextMut<'_, T>,
    m: &Resource<BpfMap>,
    f: impl FnOnce(&BpfMap, &StoreContextMut<'_, T>) -> HostResult<R>,
) -> HostResult<R> {
    let map: *const BpfMap = store.data_mut().bpf().table.get(m)?;
    // SAFETY: the map is boxed in the store's resource table, where it
    // stays for this whole call: `f` gets the store only shared, so it can
    // read guest memory but not change the table, and no other code runs
    // on this store meanwhile.
    f(unsafe { &*map }, &store)
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
        let view = store.data_mut().bpf();
        let map = view.table.delete(Resource::<BpfMap>::new_own(rep))?;
        view.ctx.give_back(Limit::Maps, 1);
        view.ctx.release_map(map.info().id);
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
        |store: StoreContextMut<'_, T>,
         (m, key): (Resource<BpfMap>, WasmList<u8>)|
         -> Returns<Option<List<ValueBuf>>> {
            HostError::returns(with_map(store, &m, |map, guest| Ok(map.lookup(key.as_le_slice(guest))?.map(List))))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update",
        |store: StoreContextMut<'_, T>,
         (m, key, value, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<()> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.update(key.as_le_slice(guest), value.as_le_slice(guest), flag)?)
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.delete",
        |store: StoreContextMut<'_, T>, (m, key): (Resource<BpfMap>, WasmList<u8>)| -> Returns<()> {
            HostError::returns(with_map(store, &m, |map, guest| Ok(map.delete(key.as_le_slice(guest))?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-and-delete",
        |store: StoreContextMut<'_, T>, (m, key): (Resource<BpfMap>, WasmList<u8>)| -> Returns<Option<Vec<u8>>> {
            HostError::returns(with_map(store, &m, |map, guest| Ok(map.lookup_and_delete(key.as_le_slice(guest))?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-per-cpu",
        |store: StoreContextMut<'_, T>,
         (m, key): (Resource<BpfMap>, WasmList<u8>)|
         -> Returns<Option<List<ValueBuf>>> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.lookup_per_cpu(key.as_le_slice(guest))?.map(List))
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update-per-cpu",
        |store: StoreContextMut<'_, T>,
         (m, key, values, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<()> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.update_per_cpu(key.as_le_slice(guest), values.as_le_slice(guest), flag)?)
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.keys",
        |store: StoreContextMut<'_, T>,
         (m, after, max): (Resource<BpfMap>, Option<WasmList<u8>>, u32)|
         -> Returns<Vec<u8>> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.keys(after.as_ref().map(|after| after.as_le_slice(guest)), max)?)
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.lookup-batch",
        |store: StoreContextMut<'_, T>,
         (m, cursor, max): (Resource<BpfMap>, Option<WasmList<u8>>, u32)|
         -> Returns<Entries> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.lookup_batch(cursor.as_ref().map(|cursor| cursor.as_le_slice(guest)), max)?)
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.update-batch",
        |store: StoreContextMut<'_, T>,
         (m, keys, values, flag): (Resource<BpfMap>, WasmList<u8>, WasmList<u8>, UpdateFlag)|
         -> Returns<u32> {
            HostError::returns(with_map(store, &m, |map, guest| {
                Ok(map.update_batch(keys.as_le_slice(guest), values.as_le_slice(guest), flag)?)
            }))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.delete-batch",
        |store: StoreContextMut<'_, T>, (m, keys): (Resource<BpfMap>, WasmList<u8>)| -> Returns<u32> {
            HostError::returns(with_map(store, &m, |map, guest| Ok(map.delete_batch(keys.as_le_slice(guest))?)))
        },
    )?;
    maps.func_wrap(
        "[method]bpf-map.freeze",
        |store: StoreContextMut<'_, T>, (m,): (Resource<BpfMap>,)| -> Returns<()> {
            HostError::returns(with_map(store, &m, |map, _| Ok(map.freeze()?)))
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
    // A handle is the map opened again, for the rest of the run.
    view.ctx.take(Limit::Maps, 1, "another word handle")?;
    view.ctx.hold_map(map.info().id);
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
