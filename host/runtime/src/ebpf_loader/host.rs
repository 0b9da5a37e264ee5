//! The `ebpf-loader` interface: the bindings' host traits over
//! [`BpfObject`] and [`BpfLink`].

use std::sync::Arc;

use wasmtime::component::Resource;

use super::{BpfLink, BpfObject};
use crate::bindings::btf::BtfType;
use crate::bindings::ebpf_loader::{AttachTarget, GlobalInfo, LoadOptions, MapTypes, ProgramInfo};
use crate::bindings::maps::MapInfo;
use crate::maps::BpfMap;
use crate::{BpfCtxView, Error, HostError, HostResult, Limit};

impl crate::bindings::ebpf_loader::Host for BpfCtxView<'_> {
    fn packaged_objects(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.ctx.packaged.iter().map(|(name, _)| name.clone()).collect())
    }
}

impl crate::bindings::ebpf_loader::HostBpfObject for BpfCtxView<'_> {
    fn open(&mut self, elf: Vec<u8>, options: LoadOptions) -> HostResult<Resource<BpfObject>> {
        self.ctx.take(Limit::Objects, 1, "opening a BPF object")?;
        let object = BpfObject::open(elf.into(), &options, "object", &self.ctx.policy.dirs);
        self.hold_object(object)
    }

    fn open_packaged(&mut self, name: String, options: LoadOptions) -> HostResult<Resource<BpfObject>> {
        let elf = self
            .ctx
            .packaged
            .iter()
            .find_map(|(packaged, elf)| (*packaged == name).then(|| Arc::clone(elf)))
            .ok_or_else(|| Error::not_found(format!("no packaged object {name:?}")))?;
        self.ctx.take(Limit::Objects, 1, "opening a BPF object")?;
        let stem = name.split('.').next().filter(|stem| !stem.is_empty()).unwrap_or("object");
        let object = BpfObject::open(elf, &options, stem, &self.ctx.policy.dirs);
        self.hold_object(object)
    }

    fn btf_types(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<Vec<BtfType>> {
        Ok(self.table.get(&object)?.btf.clone())
    }

    fn map_types(&mut self, object: Resource<BpfObject>, name: String) -> HostResult<MapTypes> {
        Ok(self.table.get(&object)?.map_types(&name)?)
    }

    fn section(&mut self, object: Resource<BpfObject>, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.table.get(&object)?.section(&name))
    }

    fn set_global(&mut self, object: Resource<BpfObject>, name: String, value: Vec<u8>) -> HostResult<()> {
        Ok(self.table.get_mut(&object)?.set_global(&name, &value)?)
    }

    fn global(&mut self, object: Resource<BpfObject>, name: String) -> HostResult<Vec<u8>> {
        Ok(self.table.get(&object)?.global(&name)?)
    }

    fn globals(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<Vec<GlobalInfo>> {
        Ok(self.table.get(&object)?.globals())
    }

    fn set_autoload(&mut self, object: Resource<BpfObject>, program: String, autoload: bool) -> HostResult<()> {
        Ok(self.table.get_mut(&object)?.set_autoload(&program, autoload)?)
    }

    fn load(&mut self, object: Resource<BpfObject>) -> HostResult<()> {
        let object = self.table.get_mut(&object)?;
        object.load(&self.ctx.policy)?;
        // The kernel memory the object's maps pin counts once it is loaded;
        // over the limit (or unknown), the object is unloaded again.
        let charged = object.map_memory().and_then(|maps| self.ctx.charge_maps(&maps).map(|()| maps));
        match charged {
            Ok(maps) => {
                object.charged = maps.into_iter().map(|(id, _)| id).collect();
                Ok(())
            }
            Err(error) => {
                object.unload();
                Err(error.into())
            }
        }
    }

    fn loaded(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&object)?.is_loaded())
    }

    fn programs(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<Vec<ProgramInfo>> {
        Ok(self.table.get(&object)?.programs())
    }

    fn maps(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<Vec<MapInfo>> {
        Ok(self.table.get(&object)?.maps())
    }

    fn get_map(&mut self, object: Resource<BpfObject>, name: String) -> HostResult<Resource<BpfMap>> {
        let map = self.table.get_mut(&object)?.map(&name)?;
        self.ctx.take(Limit::Maps, 1, "another map handle")?;
        let id = map.info().id;
        let pushed = self.table.push(map).map_err(|e| {
            self.ctx.give_back(Limit::Maps, 1);
            HostError::from(e)
        })?;
        self.ctx.hold_map(id);
        Ok(pushed)
    }

    fn attach(
        &mut self,
        object: Resource<BpfObject>,
        program: String,
        target: AttachTarget,
    ) -> HostResult<Resource<BpfLink>> {
        self.ctx.take(Limit::Links, 1, "another attachment")?;
        let link = (|| {
            let link = self.table.get_mut(&object)?.attach(&program, &target, &self.ctx.policy)?;
            Ok(self.table.push(link)?)
        })();
        if link.is_err() {
            self.ctx.give_back(Limit::Links, 1);
        }
        link
    }

    fn drop(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<()> {
        let object = self.table.delete(object)?;
        self.ctx.give_back(Limit::Objects, 1);
        for &id in &object.charged {
            self.ctx.release_map(id);
        }
        Ok(())
    }
}

impl crate::bindings::ebpf_loader::HostLink for BpfCtxView<'_> {
    fn program(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<String> {
        Ok(self.table.get(&link)?.program.clone())
    }

    fn id(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&link)?.id())
    }

    fn drop(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<()> {
        self.table.delete(link)?;
        self.ctx.give_back(Limit::Links, 1);
        Ok(())
    }
}

impl BpfCtxView<'_> {
    /// Puts an object `open` made, for which `Limit::Objects` was taken,
    /// in the table; gives it back if there is no object after all.
    fn hold_object(&mut self, object: Result<BpfObject, Error>) -> HostResult<Resource<BpfObject>> {
        let pushed = object.map_err(HostError::from).and_then(|object| Ok(self.table.push(object)?));
        if pushed.is_err() {
            self.ctx.give_back(Limit::Objects, 1);
        }
        pushed
    }
}
