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
