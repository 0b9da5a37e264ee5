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

use crate::bindings::ebpf_loader::{AttachTarget, PerfEventKind};
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
            AttachKind::Tracepoint => "`tracepoint`, and `tp/`/`tracepoint/` sections; PATTERN matches category/name",
            AttachKind::RawTracepoint => "`raw-tracepoint`, and `raw_tp`/`raw_tracepoint` sections; PATTERN matches the name",
            AttachKind::TpBtf => "`tp-btf`, and `tp_btf/` sections; PATTERN matches the name",
            AttachKind::Fentry => "`fentry/`, `fexit/`, `fmod_ret/`, `freplace/` and `iter/` sections; PATTERN matches the function",
            AttachKind::Lsm => "`lsm/` sections; PATTERN matches the hook",
            AttachKind::Kprobe => {
                "`kprobe`, `kretprobe`, and kprobe/kretprobe/ksyscall sections; PATTERN matches the function (a \
                 ksyscall section's syscall name; kprobe.multi patterns only a kind-wide rule allows)"
            },
            AttachKind::Uprobe => "`uprobe` (uprobes and uretprobes), and uprobe/usdt sections; PATTERN matches the binary's resolved path",
            AttachKind::Xdp => "`xdp`, and `xdp` sections; PATTERN matches the interface",
            AttachKind::Tc => "`tc` (tcx ingress and egress), and tc/tcx sections; PATTERN matches the interface",
            AttachKind::Cgroup => "`cgroup`, and cgroup, sockops and sk_msg sections; PATTERN matches the cgroup's resolved path",
            AttachKind::PerfEvent => "`perf-event`, and `perf_event` sections; PATTERN matches the event (cpu-clock, task-clock, cpu-cycles, instructions)",
            AttachKind::SocketFilter => "`socket-filter` (`socket` sections); PATTERN matches the interface",
            AttachKind::Other => "any section not named above (struct_ops, sk_lookup, netfilter, ...); PATTERN matches the section",
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
            // attach_trace links tracing and LSM programs alike: the
            // program's section says which it is.
            AttachTarget::TpBtf => Self::of_section(section),
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

    /// The binary a uprobe or usdt section names, as libbpf reads it: up
    /// to the first colon (`uprobe//usr/bin/bash:readline`,
    /// `usdt/PATH:PROVIDER:NAME`); None when the section names none.
    pub fn section_binary(section: &str) -> Option<&str> {
        let rest = section.split_once('/')?.1;
        let binary = rest.split_once(':').map_or(rest, |(path, _)| path);
        (!binary.is_empty()).then_some(binary)
    }

    /// What an attachment to `target` of a program in `section` attaches
    /// to, as `--allow-attach KIND:PATTERN` matches it: a tracepoint's
    /// `category/name`, a raw or BTF tracepoint's name, a kernel
    /// function, a uprobe's binary, an interface, a cgroup's path, a perf
    /// event's kind, the function of an fentry or LSM section, or for any
    /// other kind its section. Paths are resolved (`..`, links) when they
    /// exist. None when nothing names it (a bare `SEC("xdp")` attached
    /// `auto`).
    pub fn target_of(target: &AttachTarget, section: &str) -> Option<String> {
        // A path names what it resolves to; one that does not resolve
        // names nothing a pattern may match (a kind-wide rule still may).
        let resolved = |path: &str| std::fs::canonicalize(path).ok().and_then(|p| p.to_str().map(str::to_string));
        let named = |text: &str| (!text.is_empty()).then(|| text.to_string());
        match target {
            AttachTarget::Tracepoint(t) => Some(format!("{}/{}", t.category, t.name)),
            AttachTarget::RawTracepoint(name) => named(name),
            AttachTarget::Kprobe(function) | AttachTarget::Kretprobe(function) => named(function),
            AttachTarget::Uprobe(u) => resolved(&u.binary),
            AttachTarget::Xdp(x) => named(&x.ifname),
            AttachTarget::Tc(t) => named(&t.ifname),
            AttachTarget::SocketFilter(ifname) => named(ifname),
            AttachTarget::Cgroup(path) => resolved(path),
            AttachTarget::PerfEvent(p) => Some(
                match p.kind {
                    PerfEventKind::CpuClock => "cpu-clock",
                    PerfEventKind::TaskClock => "task-clock",
                    PerfEventKind::CpuCycles => "cpu-cycles",
                    PerfEventKind::Instructions => "instructions",
                }
                .to_string(),
            ),
            AttachTarget::TpBtf | AttachTarget::Auto => {
                // What the section names, read as libbpf reads it.
                let rest = section.split_once('/').map_or("", |(_, rest)| rest);
                match AttachKind::of_section(section) {
                    AttachKind::Uprobe => Self::section_binary(section).and_then(resolved),
                    // kprobe/FUNCTION+OFFSET: the function, as far as
                    // libbpf reads it; kprobe.multi/PATTERN: a pattern of
                    // functions, which only a kind-wide rule allows.
                    AttachKind::Kprobe => {
                        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'));
                        match end {
                            Some(_) if rest.contains(['*', '?']) => None,
                            Some(end) => named(&rest[..end]),
                            None => named(rest),
                        }
                    }
                    AttachKind::Other => Some(section.to_string()),
                    _ => named(rest),
                }
            }
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

/// One `--allow-attach` rule: a kind, and what it may attach to
/// (`tracepoint:sched/*`, `xdp:lo`, `uprobe:/usr/bin/*`); without a
/// pattern, anything of the kind. A pattern matches the whole of what
/// [`AttachKind::target_of`] names, `*` standing for any run of
/// characters (`/` included) and `?` for one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachRule {
    pub kind: AttachKind,
    pub pattern: Option<String>,
}

impl AttachRule {
    fn allows(&self, kind: AttachKind, target: Option<&str>) -> bool {
        self.kind == kind
            && match (&self.pattern, target) {
                (None, _) => true,
                (Some(pattern), Some(target)) => glob(pattern.as_bytes(), target.as_bytes()),
                (Some(_), None) => false,
            }
    }
}

impl fmt::Display for AttachRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Some(pattern) => write!(f, "{}:{pattern}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl FromStr for AttachRule {
    type Err = Error;

    /// `KIND` or `KIND:PATTERN`.
    fn from_str(text: &str) -> Result<Self, Error> {
        let (kind, pattern) = match text.split_once(':') {
            Some((kind, "")) => {
                return Err(Error::invalid_argument(format!("{text:?} has no pattern after {kind}:")));
            }
            Some((kind, pattern)) => (kind, Some(pattern.to_string())),
            None => (text, None),
        };
        Ok(AttachRule { kind: kind.parse()?, pattern })
    }
}

/// Whether `text` is all of what `pattern` says: `*` any run of bytes,
/// `?` one byte, anything else itself. Iterative, backtracking only to
/// the last `*`: linear in the text per star.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// What a guest may do only when the user grants it (`bpflet run
/// --allow`), by the names `name()` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `event-buffer.map-ring`: the kernel's ring pages in guest memory.
    MapRing,
    /// Programs that call `bpf_probe_write_user`: writes into the memory
    /// of any process they run in.
    WriteUser,
    /// Programs that call `bpf_send_signal` or `bpf_send_signal_thread`:
    /// signals (SIGKILL included) to any process they run in.
    SendSignal,
    /// Programs that call `bpf_override_return`: change what a kernel
    /// function returns.
    OverrideReturn,
}

impl Named for Grant {
    const WHAT: &'static str = "a grant";
    const ALL: &'static [Grant] = &[Grant::MapRing, Grant::WriteUser, Grant::SendSignal, Grant::OverrideReturn];

    fn name(self) -> &'static str {
        match self {
            Grant::MapRing => "map-ring",
            Grant::WriteUser => "write-user",
            Grant::SendSignal => "send-signal",
            Grant::OverrideReturn => "override-return",
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
            Grant::WriteUser => {
                "programs that call bpf_probe_write_user (write into the memory of the process they run in); \
                 without it, loading one is permission-denied"
            }
            Grant::SendSignal => {
                "programs that call bpf_send_signal or bpf_send_signal_thread (signal, even kill, the \
                 process they run in); without it, loading one is permission-denied"
            }
            Grant::OverrideReturn => {
                "programs that call bpf_override_return (change what a kernel function returns); without it, \
                 loading one is permission-denied"
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

/// What a guest may hold at once, each capped by `bpflet run --limit
/// NAME=VALUE` ([`Limits`]); a call that would hold more is
/// `permission-denied` and says which limit to raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// BPF objects open or loaded (`bpf-object` resources).
    Objects,
    /// Map handles (`bpf-map` resources: `get-map`).
    Maps,
    /// Attachments (`link` resources).
    Links,
    /// Event buffers (`event-buffer` resources).
    Buffers,
    /// Entries of the guest's resource table: every handle of every
    /// interface, WASI's streams and pollables included.
    Handles,
    /// Kernel memory the guest's loaded objects pin in maps (ring buffers
    /// included, as the kernel counts it: `memlock` in the map's fdinfo),
    /// and its perf buffers' pages.
    KernelMemory,
}

impl Limit {
    /// The value a run has without `--limit`.
    pub fn default_value(self) -> u64 {
        match self {
            Limit::Objects => 64,
            Limit::Maps => 1024,
            Limit::Links => 1024,
            Limit::Buffers => 64,
            Limit::Handles => 8192,
            Limit::KernelMemory => 1 << 30,
        }
    }

    /// What the limit counts, for messages.
    fn unit(self) -> &'static str {
        match self {
            Limit::Objects => "BPF objects",
            Limit::Maps => "map handles",
            Limit::Links => "links",
            Limit::Buffers => "event buffers",
            Limit::Handles => "handles",
            Limit::KernelMemory => "of kernel memory",
        }
    }

    /// `value` as the limit's unit says it: a size for kernel memory.
    pub fn show(self, value: u64) -> String {
        match self {
            Limit::KernelMemory => crate::size::show(value),
            _ => value.to_string(),
        }
    }

    /// Reads `NAME=VALUE` (`objects=16`, `kernel-memory=256M`).
    pub fn parse_setting(text: &str) -> Result<(Limit, u64), Error> {
        let (name, value) = text.split_once('=').ok_or_else(|| {
            Error::invalid_argument(format!("{text:?} is not NAME=VALUE (objects=16, kernel-memory=256M)"))
        })?;
        let limit: Limit = by_name(name.trim())?;
        let value = match limit {
            Limit::KernelMemory => crate::size::parse(value).map_err(Error::invalid_argument)?,
            _ => value
                .trim()
                .parse()
                .map_err(|_| Error::invalid_argument(format!("the {limit} limit is a count, not {value:?}")))?,
        };
        Ok((limit, value))
    }
}

impl Named for Limit {
    const WHAT: &'static str = "a limit";
    const ALL: &'static [Limit] =
        &[Limit::Objects, Limit::Maps, Limit::Links, Limit::Buffers, Limit::Handles, Limit::KernelMemory];

    fn name(self) -> &'static str {
        match self {
            Limit::Objects => "objects",
            Limit::Maps => "maps",
            Limit::Links => "links",
            Limit::Buffers => "event-buffers",
            Limit::Handles => "handles",
            Limit::KernelMemory => "kernel-memory",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Limit::Objects => "BPF objects open at once (default 64)",
            Limit::Maps => "map handles (get-map) held at once (default 1024)",
            Limit::Links => "attachments held at once (default 1024)",
            Limit::Buffers => "event buffers open at once (default 64)",
            Limit::Handles => "resource handles of every kind, WASI's included (default 8192)",
            Limit::KernelMemory => {
                "kernel memory pinned by the guest's maps (as their fdinfo memlock counts it) and perf \
                 buffers (default 1G)"
            }
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of each [`Limit`] for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits([u64; Limit::ALL.len()]);

impl Default for Limits {
    fn default() -> Self {
        Limits(std::array::from_fn(|i| Limit::ALL[i].default_value()))
    }
}

impl Limits {
    pub fn get(&self, limit: Limit) -> u64 {
        self.0[limit as usize]
    }

    pub fn set(&mut self, limit: Limit, value: u64) {
        self.0[limit as usize] = value;
    }
}

/// How much of each [`Limit`] a guest holds now.
#[derive(Clone, Debug, Default)]
pub struct Held([u64; Limit::ALL.len()]);

impl Held {
    /// Takes `amount` more of `limit` for `what`, or refuses with
    /// permission-denied if that would be more than `limits` allow.
    pub fn take(&mut self, limits: &Limits, limit: Limit, amount: u64, what: &str) -> Result<(), Error> {
        let held = &mut self.0[limit as usize];
        let max = limits.get(limit);
        match held.checked_add(amount) {
            Some(total) if total <= max => {
                *held = total;
                Ok(())
            }
            _ => Err(Error::permission_denied(format!(
                "{what} would take the guest past this run's limit of {} {} (it holds {}; bpflet run --limit \
                 {limit}=...)",
                limit.show(max),
                limit.unit(),
                limit.show(*held),
            ))),
        }
    }

    /// Gives back what `take` took.
    pub fn give_back(&mut self, limit: Limit, amount: u64) {
        let held = &mut self.0[limit as usize];
        *held = held.saturating_sub(amount);
    }
}

/// A guest's policy. The default allows every attachment (root running
/// its own tools) and grants nothing.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The attachments allowed (`--allow-attach`); None allows every
    /// one.
    pub attach: Option<Vec<AttachRule>>,
    /// The most bytes the guest's linear memories may grow to, all of
    /// them together.
    pub max_memory: Option<u64>,
    /// What the user granted beyond the default.
    pub grants: Vec<Grant>,
    /// How much the guest may hold at once.
    pub limits: Limits,
    /// Host directories the user gave the guest (`bpflet run --dir`): it
    /// may name files in them to the host (a BTF file).
    pub dirs: Vec<std::path::PathBuf>,
}

impl Policy {
    /// Whether the guest may attach `program` (in `section`) to `target`;
    /// the error says what to allow.
    pub fn check_attach(&self, program: &str, section: &str, target: &AttachTarget) -> Result<(), Error> {
        let Some(allowed) = &self.attach else {
            return Ok(());
        };
        let kind = AttachKind::of(target, section);
        let to = AttachKind::target_of(target, section);
        if allowed.iter().any(|rule| rule.allows(kind, to.as_deref())) {
            return Ok(());
        }
        let rule = AttachRule { kind, pattern: to.clone() };
        let allowed: Vec<String> = allowed.iter().map(AttachRule::to_string).collect();
        Err(Error::permission_denied(format!(
            "attaching {program:?} (SEC(\"{section}\")) is a {kind} attachment{}, which this run does not allow \
             (bpflet run --allow-attach {}; allowed: {})",
            to.map(|to| format!(" to {to}")).unwrap_or_default(),
            if allowed.is_empty() { rule.to_string() } else { format!("{},{rule}", allowed.join(",")) },
            if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") },
        )))
    }
}

/// BPF helpers a program may call only with a grant: their ids (uapi
/// linux/bpf.h, `enum bpf_func_id`), names and grants.
pub const GRANTED_HELPERS: &[(i32, &str, Grant)] = &[
    (36, "bpf_probe_write_user", Grant::WriteUser),
    (58, "bpf_override_return", Grant::OverrideReturn),
    (109, "bpf_send_signal", Grant::SendSignal),
    (117, "bpf_send_signal_thread", Grant::SendSignal),
];

/// Kernel functions (kfuncs) a program may call only with a grant: their
/// names and grants.
pub const GRANTED_KFUNCS: &[(&str, Grant)] = &[("bpf_send_signal_task", Grant::SendSignal)];

impl Policy {
    /// Whether an object whose BTF declares the function `name` may load:
    /// a kfunc of [`GRANTED_KFUNCS`] needs its grant.
    pub fn check_kfunc(&self, name: &str) -> Result<(), Error> {
        match GRANTED_KFUNCS.iter().find(|(kfunc, _)| *kfunc == name) {
            Some(&(kfunc, grant)) => {
                self.check_grant(grant, &format!("the object calls the kernel function {kfunc}, which"))
            }
            None => Ok(()),
        }
    }

    /// Whether code whose instructions are `insns` (`who`: `program "x"`)
    /// calls a helper this run does not grant; the error names the helper
    /// and the grant.
    pub fn check_helpers(&self, who: &str, insns: &[libbpf_sys::bpf_insn]) -> Result<(), Error> {
        // A helper call: BPF_JMP | BPF_CALL with source register 0 (1 calls
        // a function of the program, 2 a kernel function); imm is its id.
        const CALL: u8 = 0x05 | 0x80;
        for insn in insns.iter().filter(|insn| insn.code == CALL && insn.src_reg() == 0) {
            if let Some(&(_, helper, grant)) = GRANTED_HELPERS.iter().find(|(id, ..)| *id == insn.imm) {
                self.check_grant(grant, &format!("{who} calls {helper}, which"))?;
            }
        }
        Ok(())
    }

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

/// Caps the linear memories of a guest together (`max`: the sum of their
/// sizes, plug-ins' included) and remembers a refusal, so that a guest that
/// then fails can be told why.
#[derive(Default)]
pub struct MemoryLimiter {
    pub max: Option<u64>,
    /// The sum of the sizes of the guest's memories.
    pub used: u64,
    /// The largest total a refused growth asked for.
    pub refused: Option<u64>,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.used.saturating_add(desired.saturating_sub(current) as u64);
        match self.max {
            Some(max) if total > max => {
                self.refused = Some(self.refused.unwrap_or(0).max(total));
                Ok(false)
            }
            _ => {
                self.used = total;
                Ok(true)
            }
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
    fn limits_parse_by_name_with_sizes_for_kernel_memory() {
        assert_eq!(Limit::parse_setting("objects=16").unwrap(), (Limit::Objects, 16));
        assert_eq!(Limit::parse_setting("kernel-memory=256M").unwrap(), (Limit::KernelMemory, 256 << 20));
        assert_eq!(Limit::parse_setting("event-buffers=0").unwrap(), (Limit::Buffers, 0));
        for bad in ["objects", "objects=lots", "links=-1", "kernel-memory=12Q", "everything=1"] {
            let err = Limit::parse_setting(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad}: {err:?}");
        }
        let err = Limit::parse_setting("everything=1").unwrap_err();
        assert!(err.message().contains("one of: objects, maps, links"), "{err:?}");
    }

    #[test]
    fn held_amounts_stay_within_their_limits_and_come_back() {
        let mut limits = Limits::default();
        limits.set(Limit::Links, 2);
        let mut held = Held::default();
        held.take(&limits, Limit::Links, 1, "one").unwrap();
        held.take(&limits, Limit::Links, 1, "two").unwrap();
        let err = held.take(&limits, Limit::Links, 1, "a third attachment").unwrap_err();
        let Error::PermissionDenied(message) = err else { panic!("{err:?} is not permission-denied") };
        assert_eq!(
            message,
            "a third attachment would take the guest past this run's limit of 2 links (it holds 2; bpflet run \
             --limit links=...)"
        );
        held.give_back(Limit::Links, 1);
        held.take(&limits, Limit::Links, 1, "again").unwrap();
        // Amounts that would overflow are refused, not wrapped.
        assert!(held.take(&limits, Limit::KernelMemory, u64::MAX, "all").is_err());
        held.take(&limits, Limit::KernelMemory, 1 << 20, "a map").unwrap();
        assert!(held.take(&limits, Limit::KernelMemory, u64::MAX, "all").is_err());
        held.give_back(Limit::KernelMemory, u64::MAX);
        held.take(&limits, Limit::KernelMemory, 1 << 30, "all of it").unwrap();
    }

    #[test]
    fn max_memory_counts_every_memory_together() {
        use wasmtime::ResourceLimiter;
        let mut limiter = MemoryLimiter { max: Some(100 << 20), ..MemoryLimiter::default() };
        assert!(limiter.memory_growing(0, 60 << 20, None).unwrap());
        // A second memory: 60 + 30 fit, 60 + 50 do not.
        assert!(limiter.memory_growing(0, 30 << 20, None).unwrap());
        assert!(!limiter.memory_growing(30 << 20, 80 << 20, None).unwrap());
        assert_eq!(limiter.refused, Some(140 << 20));
        assert!(limiter.memory_growing(60 << 20, 70 << 20, None).unwrap());
        assert_eq!(limiter.used, 100 << 20);
    }

    #[test]
    fn helpers_that_need_a_grant_are_refused_without_it() {
        let insn = |code: u8, src: u8, imm: i32| libbpf_sys::bpf_insn {
            code,
            _bitfield_align_1: [],
            _bitfield_1: libbpf_sys::bpf_insn::new_bitfield_1(0, src),
            off: 0,
            imm,
        };
        let exit = insn(0x95, 0, 0);
        let send_signal = [insn(0x85, 0, 109), exit];
        let err = Policy::default().check_helpers("program \"kill\"", &send_signal).unwrap_err();
        assert_eq!(
            err.message(),
            "program \"kill\" calls bpf_send_signal, which needs a grant this run does not have (bpflet run --allow \
             send-signal)"
        );
        let granted = Policy { grants: vec![Grant::SendSignal], ..Policy::default() };
        assert!(granted.check_helpers("kill", &send_signal).is_ok());
        // Id 109 as a call of the program's own function (src 1) or of a
        // kernel function (src 2), or as a plain constant, is no helper call.
        for other in [insn(0x85, 1, 109), insn(0x85, 2, 109), insn(0xb7, 0, 109)] {
            assert!(Policy::default().check_helpers("p", &[other, exit]).is_ok());
        }
        for (id, helper, grant) in GRANTED_HELPERS {
            let err = Policy::default().check_helpers("p", &[insn(0x85, 0, *id), exit]).unwrap_err();
            assert!(err.message().contains(helper) && err.message().contains(grant.name()), "{err:?}");
        }
    }

    #[test]
    fn a_denied_attach_says_what_to_allow() {
        let rules = |text: &str| Some(text.split(',').map(|rule| rule.parse().unwrap()).collect());
        let policy = Policy { attach: rules("xdp"), ..Policy::default() };
        let target = AttachTarget::Auto;
        let err = policy.check_attach("handle_exec", "tp/sched/sched_process_exec", &target).unwrap_err();
        let Error::PermissionDenied(err) = err else { panic!("{err:?} is not permission-denied") };
        assert_eq!(
            err,
            "attaching \"handle_exec\" (SEC(\"tp/sched/sched_process_exec\")) is a tracepoint attachment to \
             sched/sched_process_exec, which this run does not allow (bpflet run --allow-attach \
             xdp,tracepoint:sched/sched_process_exec; allowed: xdp)"
        );
        assert!(policy.check_attach("pass", "xdp", &target).is_ok());
        assert!(Policy::default().check_attach("any", "kprobe/x", &target).is_ok());

        // Patterns match what the attachment names, all of it.
        let policy = Policy { attach: rules("tracepoint:sched/*,kprobe:do_sys_*,xdp:lo"), ..Policy::default() };
        let tracepoint = |category: &str, name: &str| {
            AttachTarget::Tracepoint(crate::bindings::ebpf_loader::TracepointTarget {
                category: category.into(),
                name: name.into(),
            })
        };
        assert!(policy.check_attach("p", "tp/x/y", &tracepoint("sched", "sched_switch")).is_ok());
        assert!(policy.check_attach("p", "tp/x/y", &tracepoint("syscalls", "sys_enter_read")).is_err());
        assert!(policy.check_attach("p", "kprobe/do_sys_openat2", &target).is_ok());
        assert!(policy.check_attach("p", "kprobe/vfs_read", &target).is_err());
        assert!(policy.check_attach("p", "kprobe/x", &AttachTarget::Kprobe("do_sys_poll".into())).is_ok());
        // A bare SEC("xdp") names no interface: only a kind-wide rule allows it.
        assert!(policy.check_attach("p", "xdp", &target).is_err());
        let xdp = |ifname: &str| {
            AttachTarget::Xdp(crate::bindings::ebpf_loader::XdpTarget {
                ifname: ifname.into(),
                mode: crate::bindings::ebpf_loader::XdpMode::Generic,
            })
        };
        assert!(policy.check_attach("p", "xdp", &xdp("lo")).is_ok());
        assert!(policy.check_attach("p", "xdp", &xdp("lo0")).is_err());
        // Targets are what libbpf attaches to, not what the section
        // appears to say.
        let policy = Policy { attach: rules("kprobe:*_read,uprobe:/usr/bin/*,tp-btf"), ..Policy::default() };
        assert!(policy.check_attach("p", "kprobe/commit_creds:_read", &target).is_err());
        assert!(policy.check_attach("p", "kprobe.multi/*_read", &target).is_err());
        assert!(policy.check_attach("p", "usdt//usr/bin/../../opt/nonexistent:p:n", &target).is_err());
        assert_eq!(AttachKind::target_of(&target, "kprobe/commit_creds+0x10"), Some("commit_creds".into()));
        assert_eq!(
            AttachKind::target_of(&target, "uprobe//proc/self/exe:main").map(|t| t.starts_with('/')),
            Some(true)
        );
        // An explicit tp-btf target of an LSM or fentry program is an LSM or
        // fentry attachment.
        assert!(policy.check_attach("p", "tp_btf/sched_switch", &AttachTarget::TpBtf).is_ok());
        assert!(policy.check_attach("p", "lsm/file_open", &AttachTarget::TpBtf).is_err());
        assert!(policy.check_attach("p", "fmod_ret/x", &AttachTarget::TpBtf).is_err());
        // Cgroup paths are resolved before they are matched.
        let policy = Policy { attach: rules("cgroup:/sys/fs/cgroup"), ..Policy::default() };
        let cgroup = |path: &str| AttachTarget::Cgroup(path.into());
        assert!(policy.check_attach("p", "cgroup_skb/egress", &cgroup("/sys/fs/cgroup/")).is_ok());
        assert!(policy.check_attach("p", "cgroup_skb/egress", &cgroup("/sys/fs/cgroup/../cgroup")).is_ok());
        assert!(policy.check_attach("p", "cgroup_skb/egress", &cgroup("/sys/fs/../fs")).is_err());
    }

    #[test]
    fn globs_match_whole_names() {
        for (pattern, text, matches) in [
            ("sched/*", "sched/sched_switch", true),
            ("sched/*", "sched", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("do_sys_*", "do_sys_open", true),
            ("do_sys_*", "x_do_sys_open", false),
            ("*exec", "sched/sched_process_exec", true),
            ("*exec", "sched/sched_process_exec_", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("?", "x", true),
            ("?", "xy", false),
            ("/usr/bin/*", "/usr/bin/bash", true),
            ("/usr/bin/*", "/usr/sbin/x", false),
            ("**a", "aaaa", true),
        ] {
            assert_eq!(glob(pattern.as_bytes(), text.as_bytes()), matches, "{pattern:?} {text:?}");
        }
        // No blow-up on many stars against a long text that does not match.
        let text = "a".repeat(10_000);
        assert!(!glob(&b"*a".repeat(50).into_iter().chain(*b"b").collect::<Vec<_>>(), text.as_bytes()));
    }

    #[test]
    fn kinds_parse_by_name() {
        for &kind in AttachKind::ALL {
            assert_eq!(kind.name().parse::<AttachKind>().ok(), Some(kind));
        }
        assert!("kprobes".parse::<AttachKind>().unwrap_err().message().contains("one of: tracepoint"));
    }
}
