//! Attaching every program: where its section says (libbpf's auto-attach),
//! or, for sections that name no target, where the runner's options say.

use bpflet_sdk::{
    AttachTarget, Error, Link, Object, PerfEventKind, PerfEventTarget, PerfSample, ProgramInfo, TcDirection, TcTarget,
    UprobeTarget, XdpMode, XdpTarget,
};

use crate::flags::Options;

/// Where cgroup v2 usually is, tried in order without `--cgroup`.
pub const CGROUP2_PATHS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// How a program gets attached, from its section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// libbpf's auto-attach: the section names the target
    /// (`tp/sched/sched_process_exec`, `uprobe/path:func`, ...).
    Auto,
    /// `xdp`: generic mode on `--ifname`.
    Xdp,
    /// `tc`, `tc/ingress`, `tcx/ingress` (ingress), `tc/egress`, `tcx/egress`
    /// (egress) on `--ifname`.
    Tc(TcDirection),
    /// Bare `uprobe`/`uretprobe`: on `--uprobe BINARY:SYMBOL`.
    Uprobe { retprobe: bool },
    /// `cgroup_skb/*`, `cgroup/*`, `sockops`: on `--cgroup` or the root cgroup.
    Cgroup,
    /// `perf_event`: sampling every CPU at `--perf-freq`.
    PerfEvent,
    /// `socket`: a socket filter on a packet socket bound to `--ifname`.
    SocketFilter,
}

pub fn plan(section: &str) -> Plan {
    match section {
        "xdp" | "xdp.frags" => Plan::Xdp,
        "tc" | "tc/ingress" | "tcx/ingress" | "classifier" => Plan::Tc(TcDirection::Ingress),
        "tc/egress" | "tcx/egress" => Plan::Tc(TcDirection::Egress),
        "uprobe" | "uprobe.s" => Plan::Uprobe { retprobe: false },
        "uretprobe" | "uretprobe.s" => Plan::Uprobe { retprobe: true },
        "perf_event" => Plan::PerfEvent,
        "socket" => Plan::SocketFilter,
        "sockops" => Plan::Cgroup,
        s if s.starts_with("cgroup_skb/") || s.starts_with("cgroup/") => Plan::Cgroup,
        _ => Plan::Auto,
    }
}

/// The option a program needs and was not given, as `--flag VALUE`.
pub fn missing_option(plan: Plan, options: &Options) -> Option<&'static str> {
    match plan {
        Plan::Xdp | Plan::Tc(_) | Plan::SocketFilter if options.ifname.is_none() => Some("--ifname IF"),
        Plan::Uprobe { .. } if options.uprobe.is_none() => Some("--uprobe BINARY:SYMBOL"),
        _ => None,
    }
}

/// Checks before load that every autoload program has what it needs, so
/// a missing option leaves nothing loaded.
pub fn check_options(programs: &[ProgramInfo], options: &Options) -> Result<(), String> {
    for program in programs.iter().filter(|p| p.autoload) {
        if let Some(option) = missing_option(plan(&program.section), options) {
            return Err(format!(
                "program {} (SEC(\"{}\")) needs {option} to know where to attach",
                program.name, program.section
            ));
        }
    }
    Ok(())
}

/// Attaches every loaded program. A program whose section names no target
/// that the runner knows (a bare `raw_tp`, ...) is left loaded but
/// unattached, with a note on stderr.
pub fn attach_all(object: &Object, programs: &[ProgramInfo], options: &Options) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for program in programs.iter().filter(|p| p.autoload) {
        let context = || format!("attaching {} (SEC(\"{}\"))", program.name, program.section);
        let attached = match plan(&program.section) {
            Plan::Cgroup => attach_cgroup(object, &program.name, options),
            other => object.attach(&program.name, &target(other, options)),
        };
        match attached {
            Ok(link) => links.push(link),
            // libbpf cannot attach a bare `raw_tp`, ... by itself.
            Err(Error::Unsupported(why)) if !program.section.contains('/') => {
                eprintln!(
                    "note: program {} (SEC(\"{}\")) is loaded but not attached: {why}",
                    program.name, program.section
                );
            }
            Err(error) => return Err(format!("{}: {error}", context())),
        }
    }
    Ok(links)
}

fn target(plan: Plan, options: &Options) -> AttachTarget {
    let ifname = options.ifname.clone().unwrap_or_default();
    match plan {
        Plan::Auto | Plan::Cgroup => AttachTarget::Auto,
        Plan::Xdp => AttachTarget::Xdp(XdpTarget { ifname, mode: XdpMode::Generic }),
        Plan::Tc(direction) => AttachTarget::Tc(TcTarget { ifname, direction }),
        Plan::SocketFilter => AttachTarget::SocketFilter(ifname),
        Plan::Uprobe { retprobe } => {
            let (binary, symbol) = options.uprobe.clone().unwrap_or_default();
            AttachTarget::Uprobe(UprobeTarget { binary, symbol: Some(symbol), offset: 0, pid: None, retprobe })
        }
        Plan::PerfEvent => AttachTarget::PerfEvent(PerfEventTarget {
            kind: PerfEventKind::CpuClock,
            sample: PerfSample::Frequency(options.perf_freq),
            cpus: None,
        }),
    }
}

/// `--cgroup`, or the first usual place that is cgroup v2.
fn attach_cgroup(object: &Object, program: &str, options: &Options) -> Result<Link, Error> {
    if let Some(path) = &options.cgroup {
        return object.attach(program, &AttachTarget::Cgroup(path.clone()));
    }
    let mut result = Err(Error::NotFound("no cgroup v2 directory".into()));
    for path in CGROUP2_PATHS {
        result = object.attach(program, &AttachTarget::Cgroup(path.into()));
        if !matches!(result, Err(Error::NotFound(_) | Error::InvalidArgument(_))) {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_from_sections() {
        assert_eq!(plan("tp/sched/sched_process_exec"), Plan::Auto);
        assert_eq!(plan("uprobe//bin/bash:readline"), Plan::Auto);
        assert_eq!(plan("xdp"), Plan::Xdp);
        assert_eq!(plan("socket"), Plan::SocketFilter);
        assert_eq!(plan("tc"), Plan::Tc(TcDirection::Ingress));
        assert_eq!(plan("tcx/egress"), Plan::Tc(TcDirection::Egress));
        assert_eq!(plan("tc/egress"), Plan::Tc(TcDirection::Egress));
        assert_eq!(plan("uretprobe"), Plan::Uprobe { retprobe: true });
        assert_eq!(plan("cgroup_skb/egress"), Plan::Cgroup);
        assert_eq!(plan("perf_event"), Plan::PerfEvent);
    }

    #[test]
    fn names_the_missing_option_and_the_program() {
        let program = |name: &str, section: &str| ProgramInfo {
            name: name.into(),
            section: section.into(),
            program_type: bpflet_sdk::ProgramType::Xdp,
            autoload: true,
        };
        let options = Options::default();
        let err = check_options(&[program("tp", "tp/a/b"), program("pass", "xdp")], &options).unwrap_err();
        assert_eq!(err, "program pass (SEC(\"xdp\")) needs --ifname IF to know where to attach");
        let err = check_options(&[program("probe", "uprobe")], &options).unwrap_err();
        assert!(err.contains("--uprobe BINARY:SYMBOL"), "{err}");
        let with = Options { ifname: Some("lo".into()), ..Options::default() };
        assert!(check_options(&[program("pass", "xdp"), program("cls", "tc/ingress")], &with).is_ok());
        let mut off = program("pass", "xdp");
        off.autoload = false;
        assert!(check_options(&[off], &options).is_ok());
    }
}
