//! Write the user-space half of an eBPF program as a bpflet component.
//!
//! [`bindings`] is the whole `bpflet:ebpf` WIT package as wit-bindgen
//! generates it: every host function, taking and returning bytes. The rest
//! of the crate is a thin typed layer on top, in the spirit of Aya:
//!
//! - [`OpenObject`] → [`Object`]: open and configure (globals, autoload),
//!   then load and attach, with typed globals. Objects that came with the
//!   program: [`packaged_objects`], [`OpenObject::open_packaged`].
//! - [`HashMap`], [`Array`], [`PerCpuArray`], [`PerCpuHashMap`]: maps whose
//!   keys and values are [`bytemuck::Pod`] types, checked against the map's
//!   real sizes and type when built.
//! - [`EventBuffer`]: ring and perf buffers that deliver [`Batch`]es of
//!   records, readable as bytes or as `T`; [`RingReader`]: a ring buffer
//!   read in place (with `bpflet run --allow map-ring`; polled without).
//! - [`io`]: wait on several buffers and timers at once; [`signals`]: stop
//!   cleanly on Ctrl-C.
//! - [`Error`]: the WIT `error` variant, printable and usable with `?`.
//!
//! ```no_run
//! use bpflet_sdk::{EventBuffer, OpenObject};
//!
//! # fn main() -> Result<(), bpflet_sdk::Error> {
//! let object = OpenObject::open(bpflet_sdk::include_bpf!("execsnoop"))?
//!     .set_global("target_ppid", &1u32)?
//!     .load()?;
//! let _links = object.attach_all()?;
//! let events = EventBuffer::open(&object.map("events")?)?;
//! loop {
//!     for record in events.poll(200, 0)?.iter() {
//!         println!("{} bytes", record.len());
//!     }
//! }
//! # }
//! ```

pub mod cli;
mod error;
mod events;
pub mod io;
mod maps;
mod object;
pub mod signals;

pub use bytemuck;
pub use error::{Error, Result};
pub use events::{Batch, EventBuffer, Records, RingReader};
pub use maps::{Array, HashMap, Iter, Keys, PerCpuArray, PerCpuHashMap};
pub use object::{packaged_objects, Object, OpenObject};

pub use bindings::bpflet::ebpf::ebpf_loader::{
    AttachTarget, BpfObject, GlobalInfo, Link, LoadOptions, PerfEventKind, PerfEventTarget, PerfSample, ProgramInfo,
    ProgramType, TcDirection, TcTarget, TracepointTarget, UprobeTarget, XdpMode, XdpTarget,
};
pub use bindings::bpflet::ebpf::events::BufferKind;
pub use bindings::bpflet::ebpf::maps::{BpfMap, MapInfo, MapType, UpdateFlag};
pub use bindings::bpflet::ebpf::types::{LoadFailure, OsError};

/// The raw `bpflet:ebpf` bindings (world `imports`), for anything the typed
/// layer does not cover. Their functions return [`Error`]: the WIT error
/// type is mapped to the SDK's own so that it prints well.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "bpflet:ebpf/imports",
        generate_all,
        with: { "bpflet:ebpf/types@0.2.0/error": crate::Error },
    });
}

/// The interfaces that plug-in components serve (world `plugins`):
/// [`render`](plugins::render) prints records and maps by their BTF types,
/// [`histogram`](plugins::histogram) prints histograms. bpflet assembles a
/// program that calls them with a provider when it runs (built in, or
/// chosen with `bpflet run --plug`); a program that never calls them
/// imports neither.
///
/// Arguments are borrowed: records and map entries go to the plug-in
/// straight from wherever they lie (a [`Batch`], a [`RingReader`]
/// record), copied once, by the call itself.
pub mod plugins {
    mod generated {
        wit_bindgen::generate!({
            path: "../../../wit",
            world: "bpflet:ebpf/plugins",
            ownership: Borrowing { duplicate_if_necessary: false },
            with: {
                "bpflet:ebpf/types@0.2.0/error": crate::Error,
                "bpflet:ebpf/types@0.2.0/load-failure": crate::LoadFailure,
                "bpflet:ebpf/types@0.2.0/os-error": crate::OsError,
                "bpflet:ebpf/btf@0.2.0": crate::bindings::bpflet::ebpf::btf,
            },
        });
    }

    pub use generated::bpflet::ebpf::{histogram, render};
}

/// The bytes of a kernel object built by `guests/bpf/build.sh`, embedded at
/// compile time: `include_bpf!("execsnoop")` is `target/bpf/execsnoop.bpf.o`.
///
/// The directory comes from the `BPFLET_BPF_DIR` environment variable at
/// build time, which `guests/rust/.cargo/config.toml` points at the repo's
/// `target/bpf`; set it to build against objects elsewhere.
#[macro_export]
macro_rules! include_bpf {
    ($name:literal) => {
        include_bytes!(concat!(env!("BPFLET_BPF_DIR"), "/", $name, ".bpf.o")).as_slice()
    };
}
