//! `bpflet:ebpf/ebpf-loader`: open, configure, load and attach BPF objects.
//!
//! A `bpf-object` is libbpf's open → configure → load flow behind one
//! resource (`object`); a `link` owns one attachment and detaches it when
//! dropped (`attach`, one function per kind of target). Every attachment is
//! fd-based (bpf_link, perf event fd, packet socket), so even a killed
//! bpflet leaves nothing attached: the kernel closes the fds. `host` is the
//! WIT interface over both.

mod attach;
mod host;
mod object;

pub use self::attach::BpfLink;
pub use self::object::BpfObject;

use crate::Error;

/// For the fuzz targets (fuzz/): opens `elf` as `bpf-object.open` does and
/// reads back everything a guest can read of an object before load (its
/// BTF, programs, maps and their types, globals and sections), then sets
/// each global to its own value. Errors are fine; panics and crashes are
/// findings.
#[cfg(feature = "fuzzing")]
pub fn fuzz_open(elf: &[u8]) {
    let options = crate::bindings::ebpf_loader::LoadOptions { btf_path: None, object_name: None };
    let Ok(mut object) = BpfObject::open(elf.into(), &options, "fuzz", &[]) else { return };
    let _ = object.programs();
    for map in object.maps() {
        let _ = object.map_types(&map.name);
    }
    for global in object.globals() {
        if let Ok(value) = object.global(&global.name) {
            let _ = object.set_global(&global.name, &value);
        }
    }
    for section in [".rodata", ".data", ".bss", ".maps", "license", ".BTF", ".bpflet.meta"] {
        let _ = object.section(section);
    }
}

/// A host path a guest names (a BTF file, a uprobe's binary, a cgroup
/// directory), looked at (`stat`, which opens nothing) before libbpf or
/// the kernel opens it: it must be a regular file, or with `directory` a
/// directory. Opening a FIFO would block the host; opening a device file
/// can act on the device.
fn host_path(path: &str, directory: bool, what: &str) -> Result<(), Error> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("{what} {path:?} does not exist")),
        _ => Error::from(e).context(format!("{what} {path:?}")),
    })?;
    match (directory, meta.is_dir(), meta.is_file()) {
        (true, true, _) | (false, _, true) => Ok(()),
        (true, ..) => Err(Error::invalid_argument(format!("{what} {path:?} is not a directory"))),
        (false, ..) => Err(Error::invalid_argument(format!("{what} {path:?} is not a regular file"))),
    }
}
