//! What a guest may do beyond what WASI grants it: which kinds of
//! attachment it may make and what the user granted it ([`Policy`], in its
//! store's `BpfCtx`; [`Grant`]), and how much memory it may use
//! ([`MemoryLimiter`], the store's limiter). A
//! denied attach is the WIT error `permission-denied`, which the guest sees
//! and reports; memory over the limit is refused to the guest's allocator,
//! and the limiter remembers it so the embedder can say why the guest
//! failed. (The CLI's options: `bpflet run --allow-attach`, `--allow`,
//! `--max-memory`.)

use std::fmt;
use std::str::FromStr;

use crate::bindings::ebpf_loader::AttachTarget;
use crate::Error;

/// A value of a policy that the command line names ([`AttachKind`],
/// [`Grant`]): all of them, each one's name and a line of help for it.
pub trait Named: Copy + Sized + 'static {
    /// What a value is, for errors: "an attachment kind".
    const WHAT: &'static str;
    /// Every value, in the order `--help` lists them.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
    /// One line for `--help`.
    fn description(self) -> &'static str;
}

/// The value called `name`; the error lists the names there are.
fn by_name<T: Named>(name: &str) -> Result<T, Error> {
    T::ALL.iter().copied().find(|value| value.name() == name).ok_or_else(|| {
        let names: Vec<&str> = T::ALL.iter().map(|value| value.name()).collect();
        Error::invalid_argument(format!("{name:?} is not {} (one of: {})", T::WHAT, names.join(", ")))
    })
}

/// The kinds of attachment a policy can allow, by the names `name()` gives
/// (which the CLI's `--allow-attach` takes). `auto` attachments count as
/// the kind their section names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttachKind {
    Tracepoint,
    RawTracepoint,
    TpBtf,
    Fentry,
    Lsm,
    Kprobe,
    Uprobe,
    Xdp,
    Tc,
    Cgroup,
    PerfEvent,
    SocketFilter,
    Other,
}

impl Named for AttachKind {
    const WHAT: &'static str = "an attachment kind";

    /// Every kind, in the order `--help` lists them.
    const ALL: &'static [AttachKind] = &[
        AttachKind::Tracepoint,
        AttachKind::RawTracepoint,
        AttachKind::TpBtf,
        AttachKind::Fentry,
        AttachKind::Lsm,
        AttachKind::Kprobe,
        AttachKind::Uprobe,
        AttachKind::Xdp,
        AttachKind::Tc,
        AttachKind::Cgroup,
        AttachKind::PerfEvent,
        AttachKind::SocketFilter,
        AttachKind::Other,
    ];

    /// The kind's name, as `--allow-attach` takes it.
    fn name(self) -> &'static str {
        match self {
            AttachKind::Tracepoint => "tracepoint",
            AttachKind::RawTracepoint => "raw-tracepoint",
            AttachKind::TpBtf => "tp-btf",
            AttachKind::Fentry => "fentry",
            AttachKind::Lsm => "lsm",
            AttachKind::Kprobe => "kprobe",
            AttachKind::Uprobe => "uprobe",
            AttachKind::Xdp => "xdp",
            AttachKind::Tc => "tc",
            AttachKind::Cgroup => "cgroup",
            AttachKind::PerfEvent => "perf-event",
            AttachKind::SocketFilter => "socket-filter",
            AttachKind::Other => "other",
        }
    }

    /// What the kind covers: attach targets and the sections that
    /// auto-attach as it.
    fn description(self) -> &'static str {
        match self {
            AttachKind::Tracepoint => "`tracepoint`, and `tp/`/`tracepoint/` sections",
            AttachKind::RawTracepoint => "`raw-tracepoint`, and `raw_tp`/`raw_tracepoint` sections",
            AttachKind::TpBtf => "`tp-btf`, and `tp_btf/` sections",
            AttachKind::Fentry => "`fentry/`, `fexit/`, `fmod_ret/`, `freplace/` and `iter/` sections",
            AttachKind::Lsm => "`lsm/` sections",
            AttachKind::Kprobe => "`kprobe`, `kretprobe`, and kprobe/kretprobe/ksyscall sections",
            AttachKind::Uprobe => "`uprobe` (uprobes and uretprobes), and uprobe/usdt sections",
            AttachKind::Xdp => "`xdp`, and `xdp` sections",
            AttachKind::Tc => "`tc` (tcx ingress and egress), and tc/tcx sections",
            AttachKind::Cgroup => "`cgroup`, and cgroup, sockops and sk_msg sections",
            AttachKind::PerfEvent => "`perf-event`, and `perf_event` sections",
            AttachKind::SocketFilter => "`socket-filter` (`socket` sections)",
            AttachKind::Other => "any section not named above (struct_ops, sk_lookup, netfilter, ...)",
        }
    }
}

impl AttachKind {
    /// The kind of an attachment to `target` of a program in `section`.
    pub fn of(target: &AttachTarget, section: &str) -> Self {
        match target {
            AttachTarget::Auto => Self::of_section(section),
            AttachTarget::Tracepoint(_) => AttachKind::Tracepoint,
            AttachTarget::RawTracepoint(_) => AttachKind::RawTracepoint,
            AttachTarget::TpBtf => AttachKind::TpBtf,
            AttachTarget::Uprobe(_) => AttachKind::Uprobe,
            AttachTarget::Xdp(_) => AttachKind::Xdp,
            AttachTarget::Tc(_) => AttachKind::Tc,
            AttachTarget::Cgroup(_) => AttachKind::Cgroup,
            AttachTarget::PerfEvent(_) => AttachKind::PerfEvent,
            AttachTarget::Kprobe(_) | AttachTarget::Kretprobe(_) => AttachKind::Kprobe,
            AttachTarget::SocketFilter(_) => AttachKind::SocketFilter,
        }
    }

    /// The kind libbpf's auto-attach makes of a section (its SEC names).
    pub fn of_section(section: &str) -> Self {
        let prefix = section.split('/').next().unwrap_or_default();
        let prefix = prefix.strip_suffix(".s").unwrap_or(prefix);
        match prefix {
            "tp" | "tracepoint" => AttachKind::Tracepoint,
            "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => AttachKind::RawTracepoint,
            "tp_btf" => AttachKind::TpBtf,
            "fentry" | "fexit" | "fmod_ret" | "freplace" | "iter" => AttachKind::Fentry,
            "lsm" | "lsm_cgroup" => AttachKind::Lsm,
            "kprobe" | "kretprobe" | "ksyscall" | "kretsyscall" | "kprobe.multi" | "kretprobe.multi"
            | "kprobe.session" => AttachKind::Kprobe,
            "uprobe" | "uretprobe" | "usdt" | "uprobe.multi" | "uretprobe.multi" | "uprobe.session" => {
                AttachKind::Uprobe
            }
            "xdp" | "xdp.frags" => AttachKind::Xdp,
            "tc" | "tcx" | "classifier" | "action" | "netkit" => AttachKind::Tc,
            "cgroup" | "cgroup_skb" | "sockops" | "sk_msg" => AttachKind::Cgroup,
            "perf_event" => AttachKind::PerfEvent,
            "socket" => AttachKind::SocketFilter,
            _ => AttachKind::Other,
        }
    }
}

impl fmt::Display for AttachKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AttachKind {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        by_name(name)
    }
}

/// What a guest may do only when the user grants it (`bpflet run
/// --allow`), by the names `name()` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `event-buffer.map-ring`: the kernel's ring pages in guest memory.
    MapRing,
}

impl Named for Grant {
    const WHAT: &'static str = "a grant";
    const ALL: &'static [Grant] = &[Grant::MapRing];

    fn name(self) -> &'static str {
        match self {
            Grant::MapRing => "map-ring",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Grant::MapRing => {
                "`event-buffer.map-ring`: the guest reads ring buffers in place, in the kernel's pages mapped \
                 read-only into its memory (the fastest way to drain a busy ring). Those pages are part of \
                 the guest's memory while mapped, and a host call whose result the guest's allocator places \
                 there kills bpflet (SIGSEGV) instead of trapping the guest: grant it to programs you trust. \
                 Without it, map-ring is permission-denied and the SDKs' ring readers poll instead"
            }
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Grant {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        by_name(name)
    }
}

/// A guest's policy. The default allows every attachment (root running
/// its own tools) and grants nothing.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The attachment kinds allowed; None allows every kind.
    pub attach: Option<Vec<AttachKind>>,
    /// The most bytes one linear memory of the guest may grow to.
    pub max_memory: Option<u64>,
    /// What the user granted beyond the default.
    pub grants: Vec<Grant>,
}

impl Policy {
    /// Whether the guest may attach `program` (in `section`) to `target`;
    /// the error says what to allow.
    pub fn check_attach(&self, program: &str, section: &str, target: &AttachTarget) -> Result<(), Error> {
        let Some(allowed) = &self.attach else {
            return Ok(());
        };
        let kind = AttachKind::of(target, section);
        if allowed.contains(&kind) {
            return Ok(());
        }
        let allowed: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
        Err(Error::permission_denied(format!(
            "attaching {program:?} (SEC(\"{section}\")) is a {kind} attachment, which this run does not allow \
             (bpflet run --allow-attach {}; allowed: {})",
            if allowed.is_empty() { kind.name().to_string() } else { format!("{},{kind}", allowed.join(",")) },
            if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") },
        )))
    }
}

impl Policy {
    /// Whether `grant` was given; the error says how to give it.
    pub fn check_grant(&self, grant: Grant, what: &str) -> Result<(), Error> {
        if self.grants.contains(&grant) {
            return Ok(());
        }
        Err(Error::permission_denied(format!(
            "{what} needs a grant this run does not have (bpflet run --allow {grant})"
        )))
    }
}

/// Caps each linear memory of a guest (`max`) and remembers a refusal, so
/// that a guest that then fails can be told why.
#[derive(Default)]
pub struct MemoryLimiter {
    pub max: Option<u64>,
    /// The largest size a refused growth asked for.
    pub refused: Option<u64>,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        match self.max {
            Some(max) if desired as u64 > max => {
                self.refused = Some(self.refused.unwrap_or(0).max(desired as u64));
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_map_to_the_kinds_libbpf_attaches_them_as() {
        for (section, kind) in [
            ("tp/syscalls/sys_enter_execve", AttachKind::Tracepoint),
            ("tracepoint/sched/sched_switch", AttachKind::Tracepoint),
            ("raw_tp/sys_enter", AttachKind::RawTracepoint),
            ("raw_tp", AttachKind::RawTracepoint),
            ("tp_btf/sched_switch", AttachKind::TpBtf),
            ("fentry/do_nanosleep", AttachKind::Fentry),
            ("fexit.s/x", AttachKind::Fentry),
            ("lsm/file_open", AttachKind::Lsm),
            ("kprobe/do_nanosleep", AttachKind::Kprobe),
            ("ksyscall/execve", AttachKind::Kprobe),
            ("uprobe//bin/bash:readline", AttachKind::Uprobe),
            ("uretprobe", AttachKind::Uprobe),
            ("usdt/x", AttachKind::Uprobe),
            ("xdp", AttachKind::Xdp),
            ("tc/ingress", AttachKind::Tc),
            ("cgroup_skb/egress", AttachKind::Cgroup),
            ("perf_event", AttachKind::PerfEvent),
            ("socket", AttachKind::SocketFilter),
            ("struct_ops/x", AttachKind::Other),
        ] {
            assert_eq!(AttachKind::of_section(section), kind, "{section}");
        }
    }

    #[test]
    fn a_denied_attach_says_what_to_allow() {
        let policy = Policy { attach: Some(vec![AttachKind::Xdp]), ..Policy::default() };
        let target = AttachTarget::Auto;
        let err = policy.check_attach("handle_exec", "tp/sched/sched_process_exec", &target).unwrap_err();
        let Error::PermissionDenied(err) = err else { panic!("{err:?} is not permission-denied") };
        assert!(err.contains("tracepoint attachment"), "{err}");
        assert!(err.contains("--allow-attach xdp,tracepoint"), "{err}");
        assert!(policy.check_attach("pass", "xdp", &target).is_ok());
        assert!(Policy::default().check_attach("any", "kprobe/x", &target).is_ok());
    }

    #[test]
    fn kinds_parse_by_name() {
        for &kind in AttachKind::ALL {
            assert_eq!(kind.name().parse::<AttachKind>().ok(), Some(kind));
        }
        assert!("kprobes".parse::<AttachKind>().unwrap_err().message().contains("one of: tracepoint"));
    }
}
