//! Attaching a loaded program: one function per kind of attach target,
//! each through libbpf-rs's safe `attach_*` on a mutable program where it
//! has one, and through `sys` where it has none (XDP with a mode, tcx,
//! perf event sampling, socket filters).

use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::path::Path;

use libbpf_rs::{Link, ProgramMut, TracepointCategory, UprobeOpts};

use super::object::BpfObject;
use crate::bindings::ebpf_loader::{
    AttachTarget, PerfEventKind, PerfEventTarget, PerfSample, TcDirection, TcTarget, TracepointTarget, UprobeTarget,
    XdpMode, XdpTarget,
};
use crate::error::Context;
use crate::policy::{AttachKind, Policy};
use crate::{kernel, sys, Error};

type Result<T> = std::result::Result<T, Error>;

/// One attachment of a program; dropping it detaches.
pub struct BpfLink {
    pub(super) program: String,
    attachments: Vec<Attachment>,
}

enum Attachment {
    Link(Link),
    /// A bpf_link made with bpf_link_create (XDP with a mode, tcx).
    Fd(OwnedFd),
    /// The packet socket a socket filter is attached to (no kernel link:
    /// closing the socket detaches the program).
    Socket(#[allow(dead_code, reason = "held to be closed on drop")] OwnedFd),
}

impl BpfLink {
    /// The kernel's id of the (first) link; 0 for a socket filter.
    pub(super) fn id(&self) -> u32 {
        let fd = match self.attachments.first() {
            Some(Attachment::Link(link)) => link.as_fd(),
            Some(Attachment::Fd(fd)) => fd.as_fd(),
            Some(Attachment::Socket(_)) | None => return 0,
        };
        sys::link_id(fd).unwrap_or(0)
    }
}

impl BpfObject {
    /// Attaches the loaded program `program` to `target`, if `policy`
    /// allows.
    pub(super) fn attach(&mut self, program: &str, target: &AttachTarget, policy: &Policy) -> Result<BpfLink> {
        let object = self.loaded_mut()?;
        let prog = object
            .progs_mut()
            .find(|p| p.name() == program)
            .ok_or_else(|| Error::not_found(format!("no program {program:?} in the object")))?;
        let section = prog.section().to_string_lossy().into_owned();
        policy.check_attach(program, &section, target)?;
        if !prog.autoload() {
            return Err(Error::invalid_state(format!("program {program:?} was not loaded (autoload is off)")));
        }
        let context = format!("attaching {program:?}");
        let attachments = match target {
            AttachTarget::Auto => match tracepoint_of_section(&section) {
                Some(tracepoint) => vec![self::tracepoint(&prog, &tracepoint, &context)?],
                None => vec![auto(&prog, &section, &context)?],
            },
            AttachTarget::Tracepoint(tracepoint) => vec![self::tracepoint(&prog, tracepoint, &context)?],
            AttachTarget::RawTracepoint(name) => vec![raw_tracepoint(&prog, name, &context)?],
            AttachTarget::TpBtf => vec![Attachment::Link(prog.attach_trace().context(&context)?)],
            AttachTarget::Kprobe(function) => vec![kprobe(&prog, function, false, &context)?],
            AttachTarget::Kretprobe(function) => vec![kprobe(&prog, function, true, &context)?],
            AttachTarget::Uprobe(uprobe) => vec![self::uprobe(&prog, uprobe, &context)?],
            AttachTarget::Xdp(xdp) => vec![self::xdp(&prog, xdp, &context)?],
            AttachTarget::Tc(tc) => vec![self::tc(&prog, tc, &context)?],
            AttachTarget::Cgroup(path) => vec![cgroup(&prog, path, &context)?],
            AttachTarget::PerfEvent(perf) => perf_event(&prog, perf, &context)?,
            AttachTarget::SocketFilter(ifname) => vec![socket_filter(&prog, ifname, &context)?],
        };
        Ok(BpfLink { program: program.to_string(), attachments })
    }
}

/// Where the program's section says, as libbpf auto-attaches it.
fn auto(prog: &ProgramMut<'_>, section: &str, context: &str) -> Result<Attachment> {
    // A uprobe or usdt section names a binary (up to the first colon),
    // which libbpf opens: looked at first, as an explicit target is.
    if AttachKind::of_section(section) == AttachKind::Uprobe {
        if let Some(binary) = AttachKind::section_binary(section).filter(|b| b.starts_with('/')) {
            super::host_path(binary, false, "uprobe binary")?;
        }
    }
    prog.attach().map(Attachment::Link).map_err(|e| {
        let error = Error::from(e).context(context);
        if section.starts_with("kprobe") || section.starts_with("kretprobe") {
            kprobe_error(error, &format!("{context} ({section})"))
        } else if section == "socket" || section.starts_with("socket/") {
            Error::invalid_argument(format!(
                "{context}: a socket filter has no attach point of its own; attach it with socket-filter(interface)"
            ))
        } else {
            error
        }
    })
}

/// Tracepoints read their event ids from tracefs: libbpf's attach where it
/// is mounted, else bpflet's own over a tracefs mounted nowhere.
fn tracepoint(prog: &ProgramMut<'_>, target: &TracepointTarget, context: &str) -> Result<Attachment> {
    let (category, name) = (&target.category, &target.name);
    // Both are directories under tracefs's events/: nothing may climb out.
    plain_name("tracepoint category", category)?;
    plain_name("tracepoint name", name)?;
    if let Some(id) = kernel::tracefs()?.event_id(category, name).map_err(|e| e.context(context))? {
        let attr =
            libbpf_sys::perf_event_attr { type_: libbpf_sys::PERF_TYPE_TRACEPOINT, config: id, ..Default::default() };
        // One event (CPU 0, every process) serves every CPU, as libbpf's.
        let event = sys::perf_event_open(attr, 0)
            .with_context(|| format!("{context} to tracepoint {category}/{name}: perf_event_open"))?;
        let link = prog
            .attach_perf_event(event.as_raw_fd())
            .with_context(|| format!("{context} to tracepoint {category}/{name}"))?;
        // The link owns the perf event fd now and closes it on detach.
        let _ = event.into_raw_fd();
        return Ok(Attachment::Link(link));
    }
    prog.attach_tracepoint(TracepointCategory::Custom(category.clone()), name).map(Attachment::Link).map_err(|e| {
        match Error::from(e) {
            Error::NotFound(_) => Error::not_found(format!(
                "{context}: tracepoint {category}/{name} does not exist (see /sys/kernel/tracing/events)"
            )),
            other => other.context(format!("{context} to tracepoint {category}/{name}")),
        }
    })
}

fn raw_tracepoint(prog: &ProgramMut<'_>, name: &str, context: &str) -> Result<Attachment> {
    let link = prog.attach_raw_tracepoint(name).with_context(|| format!("{context} to raw tracepoint {name}"))?;
    Ok(Attachment::Link(link))
}

/// Refuses a name that is not a plain kernel identifier (letters, digits,
/// `_`, and `.` or `-` after the first character): tracepoint names become
/// tracefs paths, kprobe functions lines of tracefs's kprobe_events where
/// libbpf falls back to it.
fn plain_name(what: &str, name: &str) -> Result<()> {
    let plain = |(i, c): (usize, char)| c.is_ascii_alphanumeric() || c == '_' || (i > 0 && (c == '.' || c == '-'));
    if name.is_empty() || name.len() > 255 || !name.char_indices().all(plain) {
        let shown: String = name.chars().take(64).collect();
        return Err(Error::invalid_argument(format!(
            "{what} {shown:?}{} is not a kernel name (letters, digits, _, and . or - after the first)",
            if shown.len() < name.len() { "..." } else { "" }
        )));
    }
    Ok(())
}

fn kprobe(prog: &ProgramMut<'_>, function: &str, retprobe: bool, context: &str) -> Result<Attachment> {
    plain_name("kernel function", function)?;
    let context = format!("{context} to {} {function}", if retprobe { "kretprobe" } else { "kprobe" });
    let link =
        prog.attach_kprobe(retprobe, function).map_err(|e| kprobe_error(Error::from(e).context(&context), &context))?;
    Ok(Attachment::Link(link))
}

/// libbpf answers a kprobe on a kernel without kprobes (CONFIG_KPROBES off)
/// with ENOENT from its tracefs fallback, which reads like a missing
/// function; say what is really missing.
fn kprobe_error(error: Error, context: &str) -> Error {
    let offered = [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    match error {
        Error::NotFound(_) if !offered => Error::unsupported(format!(
            "{context}: this kernel offers no kprobes (no kprobe PMU, no kprobe_events in tracefs; CONFIG_KPROBES is off)"
        )),
        other => other,
    }
}

fn uprobe(prog: &ProgramMut<'_>, target: &UprobeTarget, context: &str) -> Result<Attachment> {
    super::host_path(&target.binary, false, "uprobe binary")?;
    let place = match (&target.symbol, target.offset) {
        (Some(symbol), 0) => format!("{}:{symbol}", target.binary),
        (Some(symbol), offset) => format!("{}:{symbol}+{offset:#x}", target.binary),
        (None, offset) => format!("{}+{offset:#x}", target.binary),
    };
    let offset = usize::try_from(target.offset).map_err(|_| Error::invalid_argument("uprobe offset out of range"))?;
    let opts = UprobeOpts { retprobe: target.retprobe, func_name: target.symbol.clone(), ..Default::default() };
    let link = prog
        .attach_uprobe_with_opts(target.pid.unwrap_or(-1), &target.binary, offset, opts)
        .with_context(|| format!("{context} to uprobe {place}"))?;
    Ok(Attachment::Link(link))
}

fn ifindex(interface: &str) -> Result<u32> {
    // IFNAMSIZ is 16, with the NUL.
    if interface.is_empty() || interface.len() > 15 {
        let shown: String = interface.chars().take(64).collect();
        return Err(Error::invalid_argument(format!(
            "{shown:?}{} is not a network interface name (1 to 15 bytes)",
            if shown.len() < interface.len() { "..." } else { "" }
        )));
    }
    sys::if_nametoindex(interface)
        .ok_or_else(|| Error::not_found(format!("network interface {interface:?} does not exist")))
}

/// XDP through a bpf_link made directly: libbpf's helper takes no mode.
fn xdp(prog: &ProgramMut<'_>, target: &XdpTarget, context: &str) -> Result<Attachment> {
    let index = ifindex(&target.ifname)?;
    let flags = match target.mode {
        XdpMode::Default => 0,
        XdpMode::Generic => libbpf_sys::XDP_FLAGS_SKB_MODE,
        XdpMode::Driver => libbpf_sys::XDP_FLAGS_DRV_MODE,
        XdpMode::Offload => libbpf_sys::XDP_FLAGS_HW_MODE,
    };
    let link = sys::link_create(prog.as_fd(), index as i32, libbpf_sys::BPF_XDP, flags)
        .with_context(|| format!("{context} to XDP on {}", target.ifname))?;
    Ok(Attachment::Fd(link))
}

/// tc through tcx (a bpf_link; libbpf-rs has only the netlink-based tc).
fn tc(prog: &ProgramMut<'_>, target: &TcTarget, context: &str) -> Result<Attachment> {
    let index = ifindex(&target.ifname)?;
    let attach_type = match target.direction {
        TcDirection::Ingress => libbpf_sys::BPF_TCX_INGRESS,
        TcDirection::Egress => libbpf_sys::BPF_TCX_EGRESS,
    };
    let link = sys::link_create(prog.as_fd(), index as i32, attach_type, 0)
        .with_context(|| format!("{context} to tc on {}", target.ifname))?;
    Ok(Attachment::Fd(link))
}

fn cgroup(prog: &ProgramMut<'_>, path: &str, context: &str) -> Result<Attachment> {
    super::host_path(path, true, "cgroup")?;
    let context = format!("{context} to cgroup {path}");
    // O_DIRECTORY: should the path have become something else since it was
    // looked at (a FIFO, a device), the open fails instead of blocking or
    // acting on it.
    let directory = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NONBLOCK)
            .open(path)
            .with_context(|| format!("{context}: opening it"))?
    };
    let link = prog.attach_cgroup(directory.as_raw_fd()).map_err(|e| match Error::from(e) {
        // The kernel's answer to a directory outside the cgroup v2 hierarchy.
        Error::Os(os) if os.errno == libc::EBADF as u32 => Error::invalid_argument(format!(
            "{context}: not a cgroup v2 directory (see `findmnt -t cgroup2` for where cgroup2 is mounted)"
        )),
        other => other.context(&context),
    })?;
    Ok(Attachment::Link(link))
}

/// One sampling perf event per CPU, the program attached to each.
fn perf_event(prog: &ProgramMut<'_>, target: &PerfEventTarget, context: &str) -> Result<Vec<Attachment>> {
    let (type_, config) = match target.kind {
        PerfEventKind::CpuClock => (libbpf_sys::PERF_TYPE_SOFTWARE, libbpf_sys::PERF_COUNT_SW_CPU_CLOCK),
        PerfEventKind::TaskClock => (libbpf_sys::PERF_TYPE_SOFTWARE, libbpf_sys::PERF_COUNT_SW_TASK_CLOCK),
        PerfEventKind::CpuCycles => (libbpf_sys::PERF_TYPE_HARDWARE, libbpf_sys::PERF_COUNT_HW_CPU_CYCLES),
        PerfEventKind::Instructions => (libbpf_sys::PERF_TYPE_HARDWARE, libbpf_sys::PERF_COUNT_HW_INSTRUCTIONS),
    };
    let mut attr = libbpf_sys::perf_event_attr { type_, config: u64::from(config), ..Default::default() };
    match target.sample {
        PerfSample::Frequency(hz) => {
            attr.__bindgen_anon_1.sample_freq = hz;
            attr.set_freq(1);
        }
        PerfSample::Period(period) => attr.__bindgen_anon_1.sample_period = period,
    }
    let mut cpus = target.cpus.clone().unwrap_or_else(kernel::online_cpus);
    // One event per CPU, each CPU once, and only CPUs there are.
    cpus.sort_unstable();
    cpus.dedup();
    let possible = kernel::possible_cpus() as u32;
    if let Some(cpu) = cpus.iter().find(|&&cpu| cpu >= possible) {
        return Err(Error::invalid_argument(format!(
            "{context}: CPU {cpu} does not exist (this machine has {possible})"
        )));
    }
    let mut attachments = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        let event =
            sys::perf_event_open(attr, cpu).with_context(|| format!("{context}: perf_event_open on CPU {cpu}"))?;
        let link = prog
            .attach_perf_event(event.as_raw_fd())
            .with_context(|| format!("{context} to perf event on CPU {cpu}"))?;
        // The link owns the perf event fd now and closes it on detach.
        let _ = event.into_raw_fd();
        attachments.push(Attachment::Link(link));
    }
    Ok(attachments)
}

fn socket_filter(prog: &ProgramMut<'_>, ifname: &str, context: &str) -> Result<Attachment> {
    let index = ifindex(ifname)?;
    let socket = sys::filtered_packet_socket(prog.as_fd(), index)
        .with_context(|| format!("{context} as a socket filter on {ifname}"))?;
    Ok(Attachment::Socket(socket))
}

/// The tracepoint a `tp/CATEGORY/NAME` or `tracepoint/CATEGORY/NAME`
/// section names, which `auto` attaches as libbpf would.
fn tracepoint_of_section(section: &str) -> Option<TracepointTarget> {
    let rest = section.strip_prefix("tp/").or_else(|| section.strip_prefix("tracepoint/"))?;
    let (category, name) = rest.split_once('/')?;
    Some(TracepointTarget { category: category.to_string(), name: name.to_string() })
}
