//! bpflet: a WebAssembly component host for eBPF programs.
//!
//! A guest component (the user-space half of an eBPF tool) imports the
//! `bpflet:ebpf` interfaces; this crate implements them over libbpf-rs in the
//! running kernel. One module per WIT interface ([`ebpf_loader`], [`maps`],
//! [`events`], [`btf`], [`signals`], [`types`]); [`engine`] sets up wasmtime and runs a component;
//! [`kernel`] holds what talks to the kernel outside libbpf (tracefs, libbpf's
//! log, CPU counts).

pub mod btf;
pub mod compile;
pub mod ebpf_loader;
pub mod engine;
pub mod events;
pub mod kernel;
pub mod lower;
pub mod maps;
pub mod oci;
pub mod policy;
pub mod runner;
pub mod signals;
pub mod types;

use wasmtime::component::{HasData, Linker, ResourceTable};

/// Bindings for the `bpflet:ebpf` interfaces, generated from `wit/`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "bpflet:ebpf/imports",
        imports: { default: trappable },
        with: {
            "wasi:io/poll": wasmtime_wasi::p2::bindings::sync::io::poll,
            "bpflet:ebpf/ebpf-loader.bpf-object": crate::ebpf_loader::BpfObject,
            "bpflet:ebpf/ebpf-loader.link": crate::ebpf_loader::BpfLink,
            "bpflet:ebpf/maps.bpf-map": crate::maps::BpfMap,
            "bpflet:ebpf/events.event-buffer": crate::events::EventBuffer,
        },
        require_store_data_send: true,
    });

    pub use bpflet::ebpf::*;
}

/// Host-side state of the bpflet interfaces that is not in the resource table.
#[derive(Default)]
pub struct BpfCtx {
    /// Print libbpf's own log (debug level) to stderr.
    pub verbose: bool,
    /// BPF objects that came with the program, by name (`open-packaged`).
    pub packaged: Vec<(String, std::sync::Arc<[u8]>)>,
    /// What the guest may do (`bpflet run --allow-attach`, ...).
    pub policy: policy::Policy,
    /// The maps `bpf-map.word-handle` gave out, by handle.
    pub word_maps: Vec<maps::BpfMap>,
}

/// What the bpflet interfaces' host implementations see of a store.
pub struct BpfCtxView<'a> {
    pub ctx: &'a mut BpfCtx,
    pub table: &'a mut ResourceTable,
}

/// Implemented by a store's data type to give the bpflet interfaces their view.
pub trait BpfView: Send {
    fn bpf(&mut self) -> BpfCtxView<'_>;
}

struct HasBpf;

impl HasData for HasBpf {
    type Data<'a> = BpfCtxView<'a>;
}

/// Adds every `bpflet:ebpf` interface to `linker`.
pub fn add_to_linker<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::btf::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::maps::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::events::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    // The hot calls, linked by hand over the bindings' versions
    // (crate::lower says why).
    linker.allow_shadowing(true);
    let fast = maps::add_fast_calls(linker).and_then(|()| events::add_fast_poll(linker));
    linker.allow_shadowing(false);
    fast?;
    bindings::ebpf_loader::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::signals::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    Ok(())
}
