//! bpflet-runtime: the host of the `bpflet:ebpf` WIT interfaces.
//!
//! A guest component (the user-space half of an eBPF tool) imports
//! `bpflet:ebpf`; this crate implements those imports over libbpf-rs in the
//! running kernel, one module per WIT interface: [`ebpf_loader`], [`maps`],
//! [`events`], [`btf`], [`signals`], and `error` for `types` (the [`Error`]
//! every interface returns, and [`HostError`]). [`policy`] says what a guest may do, [`Stop`] asks
//! it to stop, [`kernel`] holds what talks to the kernel outside libbpf
//! (tracefs, libbpf's log), and `sys` every raw system call.
//!
//! The crate has no command line, no signal handling and no cache: the
//! `bpflet` CLI (host/cli) is one embedder of it. Another one looks like
//! this (`tests/embed.rs` runs it on a real guest):
//!
//! ```no_run
//! use bpflet_runtime::{BpfCtx, BpfCtxView, BpfView, Stop};
//! use wasmtime::component::{Component, Linker, ResourceTable};
//! use wasmtime::{Config, Engine, Store};
//! use wasmtime_wasi::p2::bindings::sync::Command;
//! use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
//!
//! struct Host { wasi: WasiCtx, bpf: BpfCtx, table: ResourceTable }
//!
//! impl WasiView for Host {
//!     fn ctx(&mut self) -> WasiCtxView<'_> {
//!         WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
//!     }
//! }
//!
//! impl BpfView for Host {
//!     fn bpf(&mut self) -> BpfCtxView<'_> {
//!         BpfCtxView { ctx: &mut self.bpf, table: &mut self.table }
//!     }
//! }
//!
//! # fn main() -> wasmtime::Result<()> {
//! let mut config = Config::new();
//! bpflet_runtime::configure(&mut config);
//! let engine = Engine::new(&config)?;
//! let mut linker = Linker::new(&engine);
//! wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
//! bpflet_runtime::add_to_linker(&mut linker)?;
//!
//! let stop = Stop::new(&engine); // stop.request() from another thread stops the guest
//! let host = Host {
//!     wasi: WasiCtx::builder().inherit_stdio().build(),
//!     bpf: BpfCtx::new(stop.clone()),
//!     table: ResourceTable::new(),
//! };
//! let mut store = Store::new(&engine, host);
//! bpflet_runtime::interrupt_on_stop(&mut store);
//! let component = Component::from_file(&engine, "execsnoop.wasm")?;
//! let command = Command::instantiate(&mut store, &component, &linker)?;
//! let outcome = command.wasi_cli_run().call_run(&mut store)?;
//! drop(store); // every link, map and object the guest held is gone now
//! # let _ = outcome; Ok(())
//! # }
//! ```
//!
//! How a call travels from a guest to the kernel: ARCHITECTURE.md.

// Everything a guest or a BPF object sends is hostile: bad input is an
// error, never a panic.
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod abi;
pub mod assemble;
pub mod btf;
pub mod ebpf_loader;
mod error;
pub mod events;
pub mod kernel;
pub mod maps;
pub mod policy;
pub mod signals;
pub mod size;
mod stop;
mod sys;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime::{Config, Store, UpdateDeadline};

pub use error::{Context, Error, HostError, HostResult, LoadFailure, OsError};
pub use policy::{AttachKind, AttachRule, Grant, Held, Limit, Limits, MemoryLimiter, Named, Policy};
pub use stop::{Stop, Stopping};

/// Bindings for the `bpflet:ebpf` interfaces, generated from `wit/`.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "bpflet:ebpf/imports",
        imports: { default: trappable },
        trappable_error_type: { "bpflet:ebpf/types.error" => crate::HostError },
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

/// The version of the `bpflet:ebpf` package this host implements.
pub const WIT_VERSION: &str = "0.2.0";

/// The name of interface `name` of the package, as components import it.
fn interface(name: &str) -> String {
    format!("bpflet:ebpf/{name}@{WIT_VERSION}")
}

/// The bpflet interfaces' state of one store, beside its resource table.
///
/// Drop the store to end a guest, as wasmtime drops a store's data before
/// its memories: a ring buffer the guest mapped with `map-ring` is then
/// unmapped from memory that still exists. Do not take the data out with
/// `Store::into_data` (which frees the memories first), nor move the
/// resource table out of the store, while a guest may hold a mapped ring.
pub struct BpfCtx {
    /// BPF objects that came with the program, by name (`open-packaged`).
    pub packaged: Vec<(String, Arc<[u8]>)>,
    /// What the guest may do.
    pub policy: Policy,
    /// Whether the guest was asked to stop.
    pub stop: Stop,
    /// The maps `bpf-map.word-handle` gave out, by handle.
    word_maps: Vec<maps::BpfMap>,
    /// How much of each of the policy's limits the guest holds.
    held: Held,
    /// The kernel memory of each loaded map the guest holds, by map id:
    /// what it pins, and how many of the guest's objects, map handles,
    /// word handles and event buffers hold it. It is given back when the
    /// last of them goes, not when the object does: a handle keeps the
    /// map alive.
    pinned_maps: std::collections::HashMap<u32, (u64, u32)>,
}

impl BpfCtx {
    /// A context with the default policy (every attachment, no grants)
    /// that offers no packaged objects.
    pub fn new(stop: Stop) -> Self {
        BpfCtx {
            packaged: Vec::new(),
            policy: Policy::default(),
            stop,
            word_maps: Vec::new(),
            held: Held::default(),
            pinned_maps: std::collections::HashMap::new(),
        }
    }

    /// Charges the maps of an object just loaded, `(id, bytes)` each,
    /// against `Limit::KernelMemory`, all or none.
    fn charge_maps(&mut self, maps: &[(u32, u64)]) -> Result<(), Error> {
        for (i, &(id, bytes)) in maps.iter().enumerate() {
            if let Err(error) = self.take(Limit::KernelMemory, bytes, "loading this object's maps") {
                for &(id, _) in &maps[..i] {
                    self.release_map(id);
                }
                return Err(error);
            }
            self.pinned_maps.insert(id, (bytes, 1));
        }
        Ok(())
    }

    /// One more holder of the map `id` (nothing if it is not charged).
    fn hold_map(&mut self, id: u32) {
        if let Some((_, holders)) = self.pinned_maps.get_mut(&id) {
            *holders += 1;
        }
    }

    /// One holder fewer; the last gives its kernel memory back.
    fn release_map(&mut self, id: u32) {
        let Some((bytes, holders)) = self.pinned_maps.get_mut(&id) else { return };
        *holders -= 1;
        if *holders == 0 {
            let bytes = *bytes;
            self.pinned_maps.remove(&id);
            self.give_back(Limit::KernelMemory, bytes);
        }
    }

    /// Takes `amount` more of `limit` for `what` (see [`Held::take`]).
    fn take(&mut self, limit: Limit, amount: u64, what: &str) -> Result<(), Error> {
        self.held.take(&self.policy.limits, limit, amount, what)
    }

    /// Gives back what `take` took.
    fn give_back(&mut self, limit: Limit, amount: u64) {
        self.held.give_back(limit, amount)
    }
}

/// What the bpflet interfaces' host implementations see of a store.
pub struct BpfCtxView<'a> {
    pub ctx: &'a mut BpfCtx,
    pub table: &'a mut ResourceTable,
}

/// Implemented by a store's data type to give the bpflet interfaces their
/// view (as `wasmtime_wasi::WasiView` does for WASI).
pub trait BpfView: Send {
    fn bpf(&mut self) -> BpfCtxView<'_>;
}

struct HasBpf;

impl HasData for HasBpf {
    type Data<'a> = BpfCtxView<'a>;
}

/// Adds every `bpflet:ebpf` interface to `linker`. `maps` and `events`
/// are linked by hand (their hot functions lower results straight into
/// guest memory, see [`maps`] and [`events`]); the others through their
/// generated bindings.
pub fn add_to_linker<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    bindings::types::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::btf::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    maps::add_to_linker(linker)?;
    events::add_to_linker(linker)?;
    bindings::ebpf_loader::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    bindings::signals::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    Ok(())
}

/// Sets what the bpflet interfaces need of an engine: the component model;
/// epoch interruption, so that a stop reaches a guest spinning in wasm
/// code ([`interrupt_on_stop`]); and linear memory that never moves, since
/// `events.map-ring` maps ring buffer pages into it.
pub fn configure(config: &mut Config) {
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.memory_may_move(false);
}

/// Makes the store's guest trap at its next epoch check once its [`Stop`]
/// says so (a stop it does not handle itself, or a second one). Other
/// stores of the engine run on.
pub fn interrupt_on_stop<T: BpfView>(store: &mut Store<T>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut store| {
        if store.data_mut().bpf().ctx.stop.interrupts() {
            Err(wasmtime::Trap::Interrupt.into())
        } else {
            Ok(UpdateDeadline::Continue(1))
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wit_version_is_the_package_version() {
        let wit = include_str!("../../../wit/types.wit");
        assert!(wit.contains(&format!("package bpflet:ebpf@{};", super::WIT_VERSION)), "wit/types.wit: {wit}");
    }
}
