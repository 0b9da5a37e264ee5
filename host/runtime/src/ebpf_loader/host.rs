//! The `ebpf-loader` interface: the bindings' host traits over
//! [`BpfObject`] and [`BpfLink`].

use std::sync::Arc;

use wasmtime::component::Resource;

use super::{BpfLink, BpfObject};
use crate::bindings::btf::BtfType;
use crate::bindings::ebpf_loader::{AttachTarget, GlobalInfo, LoadOptions, MapTypes, ProgramInfo};
use crate::bindings::maps::MapInfo;
use crate::maps::BpfMap;
use crate::{BpfCtxView, Error, HostResult};

impl crate::bindings::ebpf_loader::Host for BpfCtxView<'_> {
    fn packaged_objects(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.ctx.packaged.iter().map(|(name, _)| name.clone()).collect())
    }
}

impl crate::bindings::ebpf_loader::HostBpfObject for BpfCtxView<'_> {
    fn open(&mut self, elf: Vec<u8>, options: LoadOptions) -> HostResult<Resource<BpfObject>> {
        let object = BpfObject::open(elf.into(), &options)?;
        Ok(self.table.push(object)?)
    }

    fn open_packaged(&mut self, name: String, options: LoadOptions) -> HostResult<Resource<BpfObject>> {
        let elf = self
            .ctx
            .packaged
            .iter()
            .find_map(|(packaged, elf)| (*packaged == name).then(|| Arc::clone(elf)))
            .ok_or_else(|| Error::not_found(format!("no packaged object {name:?}")))?;
        let object = BpfObject::open(elf, &options)?;
        Ok(self.table.push(object)?)
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
        Ok(self.table.get_mut(&object)?.load()?)
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
        Ok(self.table.push(map)?)
    }

    fn attach(
        &mut self,
        object: Resource<BpfObject>,
        program: String,
        target: AttachTarget,
    ) -> HostResult<Resource<BpfLink>> {
        let link = self.table.get_mut(&object)?.attach(&program, &target, &self.ctx.policy)?;
        Ok(self.table.push(link)?)
    }

    fn drop(&mut self, object: Resource<BpfObject>) -> wasmtime::Result<()> {
        self.table.delete(object)?;
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
        Ok(())
    }
}
