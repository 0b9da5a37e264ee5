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
