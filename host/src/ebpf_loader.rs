//! `bpflet:ebpf/ebpf-loader`: open, configure, load and attach BPF objects.
//!
//! A `bpf-object` is libbpf's open → configure → load flow behind one
//! resource; a `link` owns one attachment and detaches it when dropped.
//! Every attachment is fd-based (bpf_link, perf event fd), so even a killed
//! bpflet leaves nothing attached: the kernel closes the fds.

use crate::policy::Policy;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use libbpf_rs::{AsRawLibbpf, Link, MapCore, Object, ObjectBuilder, OpenObject};
use wasmtime::component::Resource;

use crate::bindings::ebpf_loader::{
    AttachTarget, GlobalInfo, LoadOptions, MapTypes, PerfEventKind, PerfSample, ProgramInfo, ProgramType, TcDirection,
    XdpMode,
};
use crate::bindings::maps::MapInfo;
use crate::maps::{map_type_from_raw, BpfMap};
use crate::types::Error;
use crate::{kernel, BpfCtxView};

type Result<T> = std::result::Result<T, Error>;

/// A global variable located by BTF: which internal map holds it and where.
#[derive(Clone)]
struct Global {
    name: String,
    section: String,
    offset: usize,
    size: usize,
    type_id: u32,
}

impl Global {
    fn read_only(&self) -> bool {
        self.section.starts_with(".rodata")
    }
}

enum State {
    Open(OpenObject),
    Loaded(Object),
    /// A failed load consumes libbpf's open object; nothing is left to use.
    Failed,
}

pub struct BpfObject {
    state: State,
    globals: Vec<Global>,
    /// The object's BTF as the guest sees it, read once at open.
    btf: Vec<crate::bindings::btf::BtfType>,
    /// The ELF as given, for `section`.
    elf: std::sync::Arc<[u8]>,
}

/// One attachment of a program; dropping it detaches.
pub struct BpfLink {
    program: String,
    attachments: Vec<Attachment>,
}

enum Attachment {
    Libbpf(Link),
    /// A bpf_link fd made with bpf_link_create (XDP with a mode, tcx).
    Fd(OwnedFd),
    /// The packet socket a socket filter is attached to (no kernel link:
    /// closing the socket detaches the program).
    Socket(#[allow(dead_code, reason = "held to be closed on drop")] OwnedFd),
}

impl Attachment {
    fn link_id(&self) -> u32 {
        let fd = match self {
            Attachment::Libbpf(link) => link.as_fd().as_raw_fd(),
            Attachment::Fd(fd) => fd.as_raw_fd(),
            Attachment::Socket(_) => return 0,
        };
        let mut info = libbpf_sys::bpf_link_info::default();
        let mut len = std::mem::size_of_val(&info) as u32;
        // SAFETY: info is a properly sized, writable bpf_link_info.
        let rc = unsafe { libbpf_sys::bpf_link_get_info_by_fd(fd, &mut info, &mut len) };
        if rc == 0 {
            info.id
        } else {
            0
        }
    }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid_argument(format!("{what} contains a NUL byte")))
}

/// Wraps a libbpf attach result, turning a NULL into an error from errno.
fn libbpf_link(ptr: *mut libbpf_sys::bpf_link, context: &str) -> Result<Attachment> {
    match NonNull::new(ptr) {
        // SAFETY: a non-NULL result of a libbpf attach call is an owned link.
        Some(ptr) => Ok(Attachment::Libbpf(unsafe { Link::from_ptr(ptr) })),
        None => Err(Error::last_os_error(context)),
    }
}

fn ifindex(interface: &str) -> Result<u32> {
    let name = cstring(interface, "interface name")?;
    // SAFETY: name is a valid C string.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(Error::not_found(format!("network interface {interface:?} does not exist"))),
        index => Ok(index),
    }
}

impl BpfObject {
    fn open(elf: std::sync::Arc<[u8]>, options: &LoadOptions) -> Result<Self> {
        let mut builder = ObjectBuilder::default();
        if let Some(name) = &options.object_name {
            builder.name(name).map_err(|e| Error::from_libbpf(&e, "object name"))?;
        }
        if let Some(path) = &options.btf_path {
            builder.btf_custom_path(path).map_err(|e| Error::from_libbpf(&e, "BTF path"))?;
        }
        let (opened, log) = kernel::with_libbpf_log(|| builder.open_memory(&elf));
        let opened = opened.map_err(|e| {
            // libbpf says why in its log ("elf: ... is not a valid eBPF
            // object file"); its error code alone (LIBBPF_ERRNO__FORMAT) is opaque.
            let why = kernel::verifier_log_tail(&log, 3);
            let why = if why.is_empty() { format!("{e:#}") } else { why.replace("libbpf: ", "") };
            match Error::from_libbpf(&e, "") {
                Error::PermissionDenied(m) => Error::PermissionDenied(m),
                _ => Error::invalid_argument(format!("not a usable BPF ELF object (clang -target bpf output): {why}")),
            }
        })?;
        // SAFETY: the pointer comes from a live OpenObject; libbpf has read
        // and fixed up the BTF (section sizes, offsets) during open.
        let btf = unsafe { crate::btf::all_types(libbpf_sys::bpf_object__btf(opened.as_libbpf_object().as_ptr())) };
        let globals = globals_of(&btf);
        Ok(BpfObject { state: State::Open(opened), globals, btf, elf })
    }

    fn global_named(&self, name: &str) -> Result<&Global> {
        self.globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::not_found(format!("no global variable {name:?} in the object")))
    }

    fn loaded(&self) -> Result<&Object> {
        match &self.state {
            State::Loaded(obj) => Ok(obj),
            State::Open(_) => Err(Error::invalid_state("the object is not loaded yet; call load first")),
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    fn open_mut(&mut self, what: &str) -> Result<&mut OpenObject> {
        match &mut self.state {
            State::Open(obj) => Ok(obj),
            State::Loaded(_) => Err(Error::invalid_state(format!("{what} must happen before load"))),
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    fn set_global(&mut self, name: &str, value: &[u8]) -> Result<()> {
        let global = self.global_named(name)?.clone();
        if value.len() != global.size {
            return Err(Error::invalid_argument(format!(
                "global {name:?} is {} bytes, the value is {}",
                global.size,
                value.len()
            )));
        }
        let open = self.open_mut("setting a global")?;
        let mut map = open
            .maps_mut()
            .find(|m| section_matches(&m.name().to_string_lossy(), &global.section))
            .ok_or_else(|| Error::not_found(format!("no map for section {}", global.section)))?;
        let data = map
            .initial_value_mut()
            .ok_or_else(|| Error::invalid_state(format!("section {} has no initial value", global.section)))?;
        data[global.offset..global.offset + global.size].copy_from_slice(value);
        Ok(())
    }

    fn global(&self, name: &str) -> Result<Vec<u8>> {
        let global = self.global_named(name)?;
        let range = global.offset..global.offset + global.size;
        match &self.state {
            State::Open(open) => {
                let map = open
                    .maps()
                    .find(|m| section_matches(&m.name().to_string_lossy(), &global.section))
                    .ok_or_else(|| Error::not_found(format!("no map for section {}", global.section)))?;
                let data = map.initial_value().unwrap_or(&[]);
                Ok(data.get(range).map(<[u8]>::to_vec).unwrap_or_else(|| vec![0; global.size]))
            }
            State::Loaded(obj) => {
                let map = obj
                    .maps()
                    .find(|m| section_matches(&m.name().to_string_lossy(), &global.section))
                    .ok_or_else(|| Error::not_found(format!("no map for section {}", global.section)))?;
                let value = map
                    .lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY)
                    .map_err(|e| Error::from_libbpf(&e, &format!("reading global {name:?}")))?
                    .unwrap_or_default();
                value
                    .get(range)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| Error::invalid_state(format!("section {} is shorter than expected", global.section)))
            }
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    fn set_autoload(&mut self, program: &str, autoload: bool) -> Result<()> {
        let open = self.open_mut("set-autoload")?;
        let mut prog = open
            .progs_mut()
            .find(|p| p.name() == program)
            .ok_or_else(|| Error::not_found(format!("no program {program:?} in the object")))?;
        prog.set_autoload(autoload);
        Ok(())
    }

    fn load(&mut self) -> Result<()> {
        let open = match std::mem::replace(&mut self.state, State::Failed) {
            State::Open(open) => open,
            other => {
                self.state = other;
                return Err(Error::invalid_state("the object is already loaded (or failed to load)"));
            }
        };
        let (loaded, log) = kernel::with_libbpf_log(|| open.load());
        match loaded {
            Ok(obj) => {
                self.state = State::Loaded(obj);
                Ok(())
            }
            Err(e) => {
                let verifier_log = kernel::verifier_log_tail(&log, 30);
                // libbpf names the program the kernel refused:
                // "prog 'bad': BPF program load failed: Permission denied".
                let failed_line = log
                    .lines()
                    .find(|l| l.contains("BPF program load failed"))
                    .map(|l| l.trim_start_matches("libbpf: ").to_string());
                // Only a refusal the verifier explained is its verdict; one
                // before verification (EPERM for a program type the kernel
                // withholds, ENOMEM, ...) has no verifier log to show and is
                // classified by its errno below.
                let verified = log.contains("-- BEGIN PROG LOAD LOG --");
                match (failed_line, verified && !verifier_log.is_empty()) {
                    (Some(message), true) => {
                        Err(Error::LoadFailed(crate::types::LoadFailure { message, verifier_log }))
                    }
                    _ => {
                        let mut err = Error::from_libbpf(&e, "loading the BPF object");
                        let tail = kernel::verifier_log_tail(&log, 5);
                        if let Error::InvalidArgument(m)
                        | Error::NotFound(m)
                        | Error::Unsupported(m)
                        | Error::PermissionDenied(m)
                        | Error::Os(crate::types::OsError { message: m, .. }) = &mut err
                        {
                            if !tail.is_empty() {
                                m.push('\n');
                                m.push_str(&tail.replace("libbpf: ", ""));
                            }
                        }
                        Err(err)
                    }
                }
            }
        }
    }

    fn programs(&self) -> Vec<ProgramInfo> {
        let info = |name: &std::ffi::OsStr, section: &std::ffi::OsStr, ty: u32, autoload: bool| ProgramInfo {
            name: name.to_string_lossy().into_owned(),
            section: section.to_string_lossy().into_owned(),
            program_type: program_type_from_raw(ty),
            autoload,
        };
        match &self.state {
            State::Open(open) => {
                open.progs().map(|p| info(p.name(), p.section(), p.prog_type() as u32, p.autoload())).collect()
            }
            State::Loaded(obj) => {
                obj.progs().map(|p| info(p.name(), p.section(), p.prog_type() as u32, p.autoload())).collect()
            }
            State::Failed => Vec::new(),
        }
    }

    fn maps(&self) -> Vec<MapInfo> {
        let cpus = kernel::possible_cpus() as u32;
        match &self.state {
            State::Open(open) => open
                .maps()
                .map(|m| MapInfo {
                    name: m.name().to_string_lossy().into_owned(),
                    map_type: map_type_from_raw(m.map_type() as u32),
                    key_size: m.key_size(),
                    value_size: m.value_size(),
                    max_entries: m.max_entries(),
                    map_flags: m.map_flags(),
                    id: 0,
                    possible_cpus: cpus,
                })
                .collect(),
            State::Loaded(obj) => obj
                .maps()
                .filter_map(|m| libbpf_rs::MapHandle::try_from(&m).ok())
                .filter_map(|h| BpfMap::new(h).ok().map(|m| m.info().clone()))
                .collect(),
            State::Failed => Vec::new(),
        }
    }

    fn map_types(&self, name: &str) -> Result<MapTypes> {
        let missing = || Error::not_found(format!("no map {name:?} in the object"));
        // SAFETY: the map pointers come from the live object.
        let (key, value) = match &self.state {
            State::Open(open) => {
                let map = open.maps().find(|m| m.name() == name).ok_or_else(missing)?;
                let raw = map.as_libbpf_object().as_ptr();
                unsafe { (libbpf_sys::bpf_map__btf_key_type_id(raw), libbpf_sys::bpf_map__btf_value_type_id(raw)) }
            }
            State::Loaded(obj) => {
                let map = obj.maps().find(|m| m.name() == name).ok_or_else(missing)?;
                let raw = map.as_libbpf_object().as_ptr();
                unsafe { (libbpf_sys::bpf_map__btf_key_type_id(raw), libbpf_sys::bpf_map__btf_value_type_id(raw)) }
            }
            State::Failed => return Err(Error::invalid_state("the object failed to load")),
        };
        let definition = crate::btf::var_in_section(&self.btf, ".maps", name).unwrap_or(0);
        Ok(MapTypes { key, value, definition })
    }

    fn map(&self, name: &str) -> Result<BpfMap> {
        let obj = self.loaded()?;
        let map = obj
            .maps()
            .find(|m| m.name() == name)
            .ok_or_else(|| Error::not_found(format!("no map {name:?} in the object")))?;
        let handle = libbpf_rs::MapHandle::try_from(&map).map_err(|e| Error::from_libbpf(&e, "opening map"))?;
        BpfMap::new(handle)
    }

    fn attach(&self, program: &str, target: AttachTarget, policy: &Policy) -> Result<BpfLink> {
        let obj = self.loaded()?;
        let prog = obj
            .progs()
            .find(|p| p.name() == program)
            .ok_or_else(|| Error::not_found(format!("no program {program:?} in the object")))?;
        policy.check_attach(program, &prog.section().to_string_lossy(), &target).map_err(Error::PermissionDenied)?;
        if !prog.autoload() {
            return Err(Error::invalid_state(format!("program {program:?} was not loaded (autoload is off)")));
        }
        let raw = prog.as_libbpf_object().as_ptr();
        let prog_fd = prog.as_fd().as_raw_fd();
        if needs_tracefs(&target, &prog.section().to_string_lossy()) {
            kernel::ensure_tracefs().map_err(Error::Unsupported)?;
        }
        let ctx = format!("attaching {program:?}");
        // SAFETY (all libbpf calls below): `raw` is a loaded program of `obj`,
        // alive for this call; strings outlive the calls that read them.
        let attachments = match &target {
            AttachTarget::Auto => {
                vec![libbpf_link(unsafe { libbpf_sys::bpf_program__attach(raw) }, &ctx).map_err(|e| {
                    let section = prog.section().to_string_lossy();
                    if section.starts_with("kprobe") || section.starts_with("kretprobe") {
                        kprobe_error(e, &format!("{ctx} ({section})"))
                    } else if section == "socket" || section.starts_with("socket/") {
                        Error::invalid_argument(format!(
                            "{ctx}: a socket filter has no attach point of its own; attach it with \
                             socket-filter(interface)"
                        ))
                    } else {
                        e
                    }
                })?]
            }
            AttachTarget::TpBtf => vec![libbpf_link(unsafe { libbpf_sys::bpf_program__attach_trace(raw) }, &ctx)?],
            AttachTarget::Tracepoint(tp) => {
                let category = cstring(&tp.category, "tracepoint category")?;
                let name = cstring(&tp.name, "tracepoint name")?;
                let link = unsafe { libbpf_sys::bpf_program__attach_tracepoint(raw, category.as_ptr(), name.as_ptr()) };
                vec![libbpf_link(link, &format!("{ctx} to tracepoint {}/{}", tp.category, tp.name)).map_err(
                    |e| match e {
                        Error::NotFound(_) => Error::not_found(format!(
                            "tracepoint {}/{} does not exist (see /sys/kernel/tracing/events)",
                            tp.category, tp.name
                        )),
                        other => other,
                    },
                )?]
            }
            AttachTarget::RawTracepoint(name) => {
                let c = cstring(name, "raw tracepoint")?;
                vec![libbpf_link(
                    unsafe { libbpf_sys::bpf_program__attach_raw_tracepoint(raw, c.as_ptr()) },
                    &format!("{ctx} to raw tracepoint {name}"),
                )?]
            }
            AttachTarget::Kprobe(func) | AttachTarget::Kretprobe(func) => {
                let retprobe = matches!(target, AttachTarget::Kretprobe(_));
                let c = cstring(func, "kernel function")?;
                let context = format!("{ctx} to {} {func}", if retprobe { "kretprobe" } else { "kprobe" });
                vec![libbpf_link(
                    unsafe { libbpf_sys::bpf_program__attach_kprobe(raw, retprobe, c.as_ptr()) },
                    &context,
                )
                .map_err(|e| kprobe_error(e, &context))?]
            }
            AttachTarget::Uprobe(up) => {
                if !std::path::Path::new(&up.binary).exists() {
                    return Err(Error::not_found(format!("uprobe binary {:?} does not exist", up.binary)));
                }
                let binary = cstring(&up.binary, "binary path")?;
                let func = up.symbol.as_deref().map(|s| cstring(s, "symbol")).transpose()?;
                let opts = libbpf_sys::bpf_uprobe_opts {
                    sz: std::mem::size_of::<libbpf_sys::bpf_uprobe_opts>() as _,
                    retprobe: up.retprobe,
                    func_name: func.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                    ..Default::default()
                };
                let link = unsafe {
                    libbpf_sys::bpf_program__attach_uprobe_opts(
                        raw,
                        up.pid.unwrap_or(-1),
                        binary.as_ptr(),
                        up.offset as _,
                        &opts,
                    )
                };
                let place = match (&up.symbol, up.offset) {
                    (Some(symbol), 0) => format!("{}:{symbol}", up.binary),
                    (Some(symbol), offset) => format!("{}:{symbol}+{offset:#x}", up.binary),
                    (None, offset) => format!("{}+{offset:#x}", up.binary),
                };
                vec![libbpf_link(link, &format!("{ctx} to uprobe {place}"))?]
            }
            AttachTarget::Xdp(xdp) => {
                let index = ifindex(&xdp.ifname)?;
                let flags = match xdp.mode {
                    XdpMode::Default => 0,
                    XdpMode::Generic => libbpf_sys::XDP_FLAGS_SKB_MODE,
                    XdpMode::Driver => libbpf_sys::XDP_FLAGS_DRV_MODE,
                    XdpMode::Offload => libbpf_sys::XDP_FLAGS_HW_MODE,
                };
                vec![link_create(
                    prog_fd,
                    index,
                    libbpf_sys::BPF_XDP,
                    flags,
                    &format!("{ctx} to XDP on {}", xdp.ifname),
                )?]
            }
            AttachTarget::Tc(tc) => {
                let index = ifindex(&tc.ifname)?;
                let attach_type = match tc.direction {
                    TcDirection::Ingress => libbpf_sys::BPF_TCX_INGRESS,
                    TcDirection::Egress => libbpf_sys::BPF_TCX_EGRESS,
                };
                vec![link_create(prog_fd, index, attach_type, 0, &format!("{ctx} to tc on {}", tc.ifname))?]
            }
            AttachTarget::Cgroup(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    Error::from_errno(e.raw_os_error().unwrap_or(libc::EIO), &format!("opening cgroup {path}"))
                })?;
                let context = format!("{ctx} to cgroup {path}");
                vec![libbpf_link(unsafe { libbpf_sys::bpf_program__attach_cgroup(raw, file.as_raw_fd()) }, &context)
                    .map_err(|e| match e {
                        // The kernel's answer to a directory outside the cgroup v2 hierarchy.
                        Error::Os(os) if os.errno == libc::EBADF as u32 => Error::invalid_argument(format!(
                            "{context}: not a cgroup v2 directory (see `findmnt -t cgroup2` for where cgroup2 is mounted)"
                        )),
                        other => other,
                    })?]
            }
            AttachTarget::PerfEvent(pe) => attach_perf_event(raw, pe, &ctx)?,
            AttachTarget::SocketFilter(ifname) => {
                vec![attach_socket_filter(prog_fd, ifname, &format!("{ctx} as a socket filter on {ifname}"))?]
            }
        };
        Ok(BpfLink { program: program.to_string(), attachments })
    }
}

/// libbpf answers a kprobe on a kernel without kprobes (CONFIG_KPROBES off)
/// with ENOENT from its tracefs fallback, which reads like a missing
/// function; say what is really missing.
fn kprobe_error(err: Error, context: &str) -> Error {
    let offered = [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists());
    match err {
        Error::NotFound(_) if !offered => Error::Unsupported(format!(
            "{context}: this kernel offers no kprobes (no kprobe PMU, no kprobe_events in tracefs; CONFIG_KPROBES is off)"
        )),
        other => other,
    }
}

/// Tracepoints (and libbpf's auto-attach of tp/ sections) read event ids
/// from tracefs.
fn needs_tracefs(target: &AttachTarget, section: &str) -> bool {
    match target {
        AttachTarget::Tracepoint(_) => true,
        AttachTarget::Auto => section.starts_with("tp/") || section.starts_with("tracepoint/"),
        _ => false,
    }
}

/// A bpf_link made directly, for attach kinds whose options libbpf's
/// helpers do not take (XDP mode) or that libbpf-rs lacks (tcx).
fn link_create(
    prog_fd: i32,
    target_fd_or_ifindex: u32,
    attach_type: u32,
    flags: u32,
    context: &str,
) -> Result<Attachment> {
    let opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        flags,
        ..Default::default()
    };
    // SAFETY: opts is a valid, sized options struct.
    let fd = unsafe { libbpf_sys::bpf_link_create(prog_fd, target_fd_or_ifindex as i32, attach_type, &opts) };
    if fd < 0 {
        return Err(Error::from_errno(-fd, context));
    }
    // SAFETY: a non-negative result is a new fd that we own.
    Ok(Attachment::Fd(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Opens a raw packet socket bound to `ifname` and attaches the socket
/// filter `prog_fd` to it. The socket is never read, so its receive buffer
/// is made as small as the kernel allows: what the filter keeps is dropped
/// once that is full.
fn attach_socket_filter(prog_fd: i32, ifname: &str, context: &str) -> Result<Attachment> {
    let index = ifindex(ifname)?;
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: no pointers; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(protocol)) };
    if fd < 0 {
        return Err(Error::last_os_error(&format!("{context}: opening a packet socket")));
    }
    // SAFETY: a new fd that we own.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let setsockopt = |option: i32, value: i32, what: &str| -> Result<()> {
        // SAFETY: a valid socket and a 4-byte option value.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&raw const value).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::last_os_error(&format!("{context}: {what}")));
        }
        Ok(())
    };
    // Attach before binding, so no packet reaches the socket unfiltered.
    setsockopt(libc::SO_ATTACH_BPF, prog_fd, "SO_ATTACH_BPF")?;
    setsockopt(libc::SO_RCVBUF, 0, "SO_RCVBUF")?;
    let address = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol,
        sll_ifindex: index as i32,
        // SAFETY: all-zero is valid for the remaining plain fields.
        ..unsafe { std::mem::zeroed() }
    };
    // SAFETY: a valid socket and a sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const address).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(Error::last_os_error(&format!("{context}: binding the packet socket")));
    }
    Ok(Attachment::Socket(socket))
}

/// Opens one sampling perf event per CPU and attaches the program to each.
fn attach_perf_event(
    raw: *mut libbpf_sys::bpf_program,
    target: &crate::bindings::ebpf_loader::PerfEventTarget,
    context: &str,
) -> Result<Vec<Attachment>> {
    let (type_, config) = match target.kind {
        PerfEventKind::CpuClock => (libbpf_sys::PERF_TYPE_SOFTWARE, libbpf_sys::PERF_COUNT_SW_CPU_CLOCK),
        PerfEventKind::TaskClock => (libbpf_sys::PERF_TYPE_SOFTWARE, libbpf_sys::PERF_COUNT_SW_TASK_CLOCK),
        PerfEventKind::CpuCycles => (libbpf_sys::PERF_TYPE_HARDWARE, libbpf_sys::PERF_COUNT_HW_CPU_CYCLES),
        PerfEventKind::Instructions => (libbpf_sys::PERF_TYPE_HARDWARE, libbpf_sys::PERF_COUNT_HW_INSTRUCTIONS),
    };
    let mut attr = libbpf_sys::perf_event_attr {
        type_,
        size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
        config: config as u64,
        ..Default::default()
    };
    match target.sample {
        PerfSample::Frequency(hz) => {
            attr.__bindgen_anon_1.sample_freq = hz;
            attr.set_freq(1);
        }
        PerfSample::Period(period) => attr.__bindgen_anon_1.sample_period = period,
    }
    let cpus: Vec<u32> = match &target.cpus {
        Some(cpus) => cpus.clone(),
        None => online_cpus(),
    };
    let mut attachments = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        // SAFETY: attr is a valid perf_event_attr; the call returns a new fd or -1.
        let pfd = unsafe {
            libc::syscall(libc::SYS_perf_event_open, &attr as *const _, -1, cpu as i32, -1, PERF_FLAG_FD_CLOEXEC)
        } as i32;
        if pfd < 0 {
            return Err(Error::last_os_error(&format!("{context}: perf_event_open on CPU {cpu}")));
        }
        // SAFETY: raw is a loaded program; on success the link owns pfd.
        let link = unsafe { libbpf_sys::bpf_program__attach_perf_event(raw, pfd) };
        if link.is_null() {
            let err = Error::last_os_error(&format!("{context} to perf event on CPU {cpu}"));
            // SAFETY: pfd is ours and was not taken by libbpf.
            unsafe { libc::close(pfd) };
            return Err(err);
        }
        attachments.push(libbpf_link(link, context)?);
    }
    Ok(attachments)
}

/// From linux/perf_event.h; libc does not export it.
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_else(|_| "0".into());
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let mut ends = part.splitn(2, '-').filter_map(|n| n.parse::<u32>().ok());
        if let Some(first) = ends.next() {
            cpus.extend(first..=ends.next().unwrap_or(first));
        }
    }
    cpus
}

/// libbpf names an object's internal maps `<object prefix>.<section>`.
/// Sections start with a dot, so `x.rodata` never matches `.data`.
fn section_matches(map_name: &str, section: &str) -> bool {
    map_name.ends_with(section)
}

/// Every global variable the object's BTF places in a data section.
fn globals_of(btf: &[crate::bindings::btf::BtfType]) -> Vec<Global> {
    use crate::bindings::btf::Kind;
    let mut globals = Vec::new();
    for sec in btf {
        let Kind::Datasec(datasec) = &sec.kind else { continue };
        if !sec.name.starts_with(".data") && !sec.name.starts_with(".bss") && !sec.name.starts_with(".rodata") {
            continue;
        }
        for var in &datasec.vars {
            let Some(v) = btf.get(var.type_ as usize) else { continue };
            let Kind::Var(var_type) = &v.kind else { continue };
            globals.push(Global {
                name: v.name.clone(),
                section: sec.name.clone(),
                offset: var.offset as usize,
                size: var.size as usize,
                type_id: var_type.type_,
            });
        }
    }
    globals
}

/// The raw bytes of ELF section `name`.
fn elf_section(elf: &[u8], name: &str) -> Option<Vec<u8>> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).ok()?;
    let section = file.section_by_name(name)?;
    section.data().ok().map(<[u8]>::to_vec)
}

const PROGRAM_TYPES: [ProgramType; 33] = {
    use crate::bindings::ebpf_loader::ProgramType::*;
    [
        Unspec,
        SocketFilter,
        Kprobe,
        SchedCls,
        SchedAct,
        Tracepoint,
        Xdp,
        PerfEvent,
        CgroupSkb,
        CgroupSock,
        LwtIn,
        LwtOut,
        LwtXmit,
        SockOps,
        SkSkb,
        CgroupDevice,
        SkMsg,
        RawTracepoint,
        CgroupSockAddr,
        LwtSeg6local,
        LircMode2,
        SkReuseport,
        FlowDissector,
        CgroupSysctl,
        RawTracepointWritable,
        CgroupSockopt,
        Tracing,
        StructOps,
        Ext,
        Lsm,
        SkLookup,
        Syscall,
        Netfilter,
    ]
};

/// BPF_PROG_TYPE_* (the WIT enum follows the kernel's order).
fn program_type_from_raw(raw: u32) -> ProgramType {
    PROGRAM_TYPES.get(raw as usize).copied().unwrap_or(ProgramType::Unknown)
}

impl crate::bindings::ebpf_loader::Host for BpfCtxView<'_> {
    fn packaged_objects(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.ctx.packaged.iter().map(|(name, _)| name.clone()).collect())
    }
}

type WasmResult<T> = wasmtime::Result<Result<T>>;

impl crate::bindings::ebpf_loader::HostBpfObject for BpfCtxView<'_> {
    fn open(&mut self, elf: Vec<u8>, options: LoadOptions) -> WasmResult<Resource<BpfObject>> {
        Ok(match BpfObject::open(elf.into(), &options) {
            Ok(obj) => Ok(self.table.push(obj)?),
            Err(e) => Err(e),
        })
    }

    fn open_packaged(&mut self, name: String, options: LoadOptions) -> WasmResult<Resource<BpfObject>> {
        let Some((_, elf)) = self.ctx.packaged.iter().find(|(n, _)| *n == name) else {
            return Ok(Err(Error::not_found(format!("no packaged object {name:?}"))));
        };
        Ok(match BpfObject::open(elf.clone(), &options) {
            Ok(obj) => Ok(self.table.push(obj)?),
            Err(e) => Err(e),
        })
    }

    fn btf_types(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<Vec<crate::bindings::btf::BtfType>> {
        Ok(self.table.get(&obj)?.btf.clone())
    }

    fn map_types(&mut self, obj: Resource<BpfObject>, name: String) -> WasmResult<MapTypes> {
        Ok(self.table.get(&obj)?.map_types(&name))
    }

    fn section(&mut self, obj: Resource<BpfObject>, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(elf_section(&self.table.get(&obj)?.elf, &name))
    }

    fn set_global(&mut self, obj: Resource<BpfObject>, name: String, value: Vec<u8>) -> WasmResult<()> {
        Ok(self.table.get_mut(&obj)?.set_global(&name, &value))
    }

    fn global(&mut self, obj: Resource<BpfObject>, name: String) -> WasmResult<Vec<u8>> {
        Ok(self.table.get(&obj)?.global(&name))
    }

    fn globals(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<Vec<GlobalInfo>> {
        Ok(self
            .table
            .get(&obj)?
            .globals
            .iter()
            .map(|g| GlobalInfo {
                name: g.name.clone(),
                section: g.section.clone(),
                size: g.size as u32,
                read_only: g.read_only(),
                type_id: g.type_id,
            })
            .collect())
    }

    fn set_autoload(&mut self, obj: Resource<BpfObject>, program: String, autoload: bool) -> WasmResult<()> {
        Ok(self.table.get_mut(&obj)?.set_autoload(&program, autoload))
    }

    fn load(&mut self, obj: Resource<BpfObject>) -> WasmResult<()> {
        Ok(self.table.get_mut(&obj)?.load())
    }

    fn loaded(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<bool> {
        Ok(matches!(self.table.get(&obj)?.state, State::Loaded(_)))
    }

    fn programs(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<Vec<ProgramInfo>> {
        Ok(self.table.get(&obj)?.programs())
    }

    fn maps(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<Vec<MapInfo>> {
        Ok(self.table.get(&obj)?.maps())
    }

    fn get_map(&mut self, obj: Resource<BpfObject>, name: String) -> WasmResult<Resource<BpfMap>> {
        Ok(match self.table.get(&obj)?.map(&name) {
            Ok(map) => Ok(self.table.push(map)?),
            Err(e) => Err(e),
        })
    }

    fn attach(
        &mut self,
        obj: Resource<BpfObject>,
        program: String,
        target: AttachTarget,
    ) -> WasmResult<Resource<BpfLink>> {
        Ok(match self.table.get(&obj)?.attach(&program, target, &self.ctx.policy) {
            Ok(link) => Ok(self.table.push(link)?),
            Err(e) => Err(e),
        })
    }

    fn drop(&mut self, obj: Resource<BpfObject>) -> wasmtime::Result<()> {
        self.table.delete(obj)?;
        Ok(())
    }
}

impl crate::bindings::ebpf_loader::HostLink for BpfCtxView<'_> {
    fn program(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<String> {
        Ok(self.table.get(&link)?.program.clone())
    }

    fn id(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&link)?.attachments.first().map_or(0, Attachment::link_id))
    }

    fn drop(&mut self, link: Resource<BpfLink>) -> wasmtime::Result<()> {
        self.table.delete(link)?;
        Ok(())
    }
}
