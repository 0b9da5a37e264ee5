//! The hostile guest (guests/rust/hostile) attacks bpflet every way it
//! knows: each attack must end in an error the guest sees or in a trap,
//! never in bpflet dying of a signal, and must leave nothing behind (no
//! program, map, link, pin or mount). The test writes what each attack met
//! into docs/hostile.md, and fails if the committed file says otherwise
//! (`BPFLET_BLESS=1 cargo test --test hostile` rewrites it).

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use common::*;

/// How an attack must end.
enum End {
    /// The guest got this error case; its message contains the text.
    Refused(&'static str, &'static str),
    /// bpflet did what was asked, within its bounds: the answer contains
    /// the text.
    Answered(&'static str),
    /// The guest trapped (exit 1, no signal) and bpflet's message contains
    /// the text.
    Trapped(&'static str),
}

struct Attack {
    /// The attack's name and argument.
    args: &'static [&'static str],
    /// `bpflet run` options.
    options: &'static [&'static str],
    end: End,
    /// The answer depends on the machine (CPU count, kernel): the table
    /// shows the text checked, not the whole answer.
    varies: bool,
}

const FIFO: &str = "$FIFO";

fn attacks() -> Vec<Attack> {
    use End::*;
    let attack = |args, options, end| Attack { args, options, end, varies: false };
    let varying = |args, options, end| Attack { args, options, end, varies: true };
    vec![
        attack(&["lookup-batch-max"], &[], Answered("100 entries")),
        attack(&["keys-max"], &[], Answered("100 keys")),
        attack(&["huge-key"], &[], Refused("invalid-argument", "has 4-byte keys")),
        attack(&["perf-poll-max"], &[], Answered("0 records")),
        attack(&["perf-pages-max"], &[], Refused("invalid-argument", "pinned kernel memory")),
        attack(&["map-ring"], &[], Refused("permission-denied", "--allow map-ring")),
        attack(&["map-ring-overlap"], &["--allow", "map-ring"], Trapped("overlaps a ring buffer already mapped")),
        attack(&["ring-consumer"], &["--allow", "map-ring"], Refused("invalid-state", "consumer position")),
        attack(&["open-garbage"], &[], Refused("invalid-argument", "not a usable BPF ELF object")),
        attack(&["open-truncated"], &[], Refused("invalid-argument", "not a usable BPF ELF object")),
        varying(&["open-mutated", "200"], &[], Answered("200 mutated objects")),
        attack(&["set-global-size"], &[], Refused("invalid-argument", "is 4 bytes, the value is 65536")),
        attack(&["btf-path", FIFO], &[], Refused("permission-denied", "outside /sys/kernel/btf")),
        attack(&["btf-path", FIFO], &["--dir", "/tmp"], Refused("invalid-argument", "is not a regular file")),
        attack(&["btf-path", "/proc/self/environ"], &[], Refused("permission-denied", "outside /sys/kernel/btf")),
        attack(
            &["btf-path", "/sys/kernel/btf/../../../etc/shadow"],
            &[],
            Refused("invalid-argument", "not an absolute path without .."),
        ),
        attack(&["btf-path", "/sys/kernel/btf/nonexistent"], &[], Refused("not-found", "does not exist")),
        attack(&["cgroup-path", "/etc/passwd"], &[], Refused("invalid-argument", "is not a directory")),
        attack(&["cgroup-path", FIFO], &[], Refused("invalid-argument", "is not a directory")),
        attack(&["uprobe-binary", FIFO], &[], Refused("invalid-argument", "is not a regular file")),
        attack(&["uprobe-binary", "/dev/zero"], &[], Refused("invalid-argument", "is not a regular file")),
        attack(
            &["uprobe-section"],
            &[],
            Refused("invalid-argument", "uprobe binary \"/dev/null\" is not a regular file"),
        ),
        attack(&["tracepoint-escape"], &[], Refused("invalid-argument", "is not a kernel name")),
        attack(&["xdp-ifname"], &[], Refused("invalid-argument", "is not a network interface name")),
        attack(&["objects"], &[], Refused("permission-denied", "limit of 64 BPF objects")),
        attack(&["maps"], &[], Refused("permission-denied", "limit of 1024 map handles")),
        attack(&["word-handles"], &["--limit", "maps=100"], Refused("permission-denied", "limit of 100 map handles")),
        attack(&["links"], &["--limit", "links=8"], Refused("permission-denied", "limit of 8 links")),
        attack(&["buffers"], &[], Refused("permission-denied", "limit of 64 event buffers")),
        attack(
            &["kernel-memory"],
            &["--limit", "kernel-memory=64K"],
            Refused("permission-denied", "limit of 64 KiB of kernel memory"),
        ),
        varying(
            &["kernel-memory-handles"],
            &["--limit", "kernel-memory=4M"],
            Refused("permission-denied", "limit of 4 MiB of kernel memory"),
        ),
        varying(
            &["perf-kernel-memory"],
            &["--limit", "kernel-memory=20M"],
            Refused("permission-denied", "limit of 20 MiB of kernel memory"),
        ),
        attack(&["handles"], &["--limit", "handles=500"], Trapped("resource table has no free keys")),
        attack(
            &["struct-ops"],
            &["--object", "$STRUCTOPS"],
            Refused("unsupported", "would register its ops beyond the program's life"),
        ),
        attack(&["send-signal"], &[], Refused("permission-denied", "calls bpf_send_signal, which needs a grant")),
        attack(&["send-signal"], &["--allow", "send-signal"], Answered("loaded")),
        attack(&["write-user"], &[], Refused("permission-denied", "calls bpf_probe_write_user, which needs a grant")),
        attack(
            &["send-signal-function"],
            &[],
            Refused("permission-denied", "a function in .text calls bpf_send_signal"),
        ),
        attack(
            &["send-signal-kfunc"],
            &[],
            Refused("permission-denied", "calls the kernel function bpf_send_signal_task, which needs a grant"),
        ),
    ]
}

/// A FIFO of this test's own: opening it would block whoever opens it.
struct Fifo(PathBuf);

impl Fifo {
    fn new() -> Fifo {
        let path = std::env::temp_dir().join(format!("bpflet-hostile-fifo-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let status = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
        assert!(status.success(), "mkfifo {}", path.display());
        Fifo(path)
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The line of `stdout` that starts with `prefix`.
fn line<'a>(stdout: &'a str, prefix: &str) -> Option<&'a str> {
    stdout.lines().find(|l| l.starts_with(prefix))
}

#[test]
fn every_attack_ends_in_an_error_or_a_trap_and_leaves_nothing() {
    let _serial = serial();
    let fifo = Fifo::new();
    let structops = object("structops");
    let guest = guest("rust-hostile");
    let substitute = |arg: &str| match arg {
        FIFO => fifo.0.to_str().unwrap().to_string(),
        "$STRUCTOPS" => structops.to_str().unwrap().to_string(),
        other => other.to_string(),
    };

    let mut table = String::from(
        "# What a hostile guest meets\n\n\
         Generated by `tests/hostile.rs` (`BPFLET_BLESS=1 cargo test --test hostile` rewrites it; the test fails \
         when this file and bpflet disagree). Each row is one attack of the hostile guest \
         (`guests/rust/hostile`, `bpflet run [OPTIONS] rust-hostile.wasm attack NAME [ARG]`) against the real \
         kernel, and what the guest got: an error it can handle (`refused`), an answer within bpflet's bounds \
         (`answered`), or a trap that ends it (`trapped`, bpflet exits 1 with the message). After each one, \
         the test checks that bpflet did not die of a signal and that no BPF program, map, link, pin under \
         /sys/fs/bpf or mount is left. `$FIFO` is a named pipe. Rows marked * depend on the machine; they show \
         the text the test checks.\n\n\
         | attack | options | what it tries | what it met |\n|---|---|---|---|\n",
    );
    for attack in attacks() {
        let name = attack.args.join(" ");
        let before = KernelObjects::now();
        let mut args: Vec<String> = vec!["run".into()];
        args.extend(attack.options.iter().map(|o| substitute(o)));
        args.push(guest.to_str().unwrap().into());
        args.push("attack".into());
        args.extend(attack.args.iter().map(|a| substitute(a)));
        let out = bpflet_to_end(&args);
        let what = line(&out.stdout, &format!("{}: ", attack.args[0]))
            .unwrap_or_else(|| panic!("{name}: the guest did not say what it tries: {}", out.stdout))
            .split_once(": ")
            .unwrap()
            .1
            .to_string();
        let met = match attack.end {
            End::Refused(case, text) => {
                assert_eq!(out.code, Some(0), "{name}: {}\n{}", out.stdout, out.stderr);
                let refused = line(&out.stdout, "refused: ")
                    .unwrap_or_else(|| panic!("{name} was not refused: {}\n{}", out.stdout, out.stderr));
                assert!(refused.starts_with(&format!("refused: {case}: ")), "{name}: {refused}");
                assert!(refused.contains(text), "{name}: expected {text:?} in {refused:?}");
                if attack.varies {
                    format!("refused: {case}: ...{text}...")
                } else {
                    refused.to_string()
                }
            }
            End::Answered(text) => {
                assert_eq!(out.code, Some(0), "{name}: {}\n{}", out.stdout, out.stderr);
                let answered = line(&out.stdout, "answered: ")
                    .unwrap_or_else(|| panic!("{name} got no answer: {}\n{}", out.stdout, out.stderr));
                assert!(answered.contains(text), "{name}: expected {text:?} in {answered:?}");
                if attack.varies {
                    format!("answered: {text}...")
                } else {
                    answered.to_string()
                }
            }
            End::Trapped(text) => {
                // Exit 1, not a signal: bpflet caught the trap and cleaned up.
                assert_eq!(out.code, Some(1), "{name}: {}\n{}", out.stdout, out.stderr);
                assert!(out.stderr.contains("the guest trapped"), "{name}: {}", out.stderr);
                assert!(out.stderr.contains(text), "{name}: expected {text:?} in {}", out.stderr);
                format!("trapped: ...{text}...")
            }
        };
        before.assert_nothing_new_left();
        let shown = |text: &str| text.replace(fifo.0.to_str().unwrap(), FIFO).replace('|', "\\|");
        writeln!(
            table,
            "| `{}` | {} | {} | {}{} |",
            shown(&name),
            if attack.options.is_empty() { String::new() } else { format!("`{}`", attack.options.join(" ")) },
            shown(&what),
            shown(&met),
            if attack.varies { " *" } else { "" },
        )
        .unwrap();
    }

    let path = repo_root().join("docs/hostile.md");
    if std::env::var_os("BPFLET_BLESS").is_some() {
        std::fs::write(&path, &table).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == table,
        "docs/hostile.md disagrees with what the attacks met (BPFLET_BLESS=1 cargo test --test hostile \
         rewrites it). What they met:\n{table}"
    );
}

#[test]
fn the_guest_lists_every_attack_the_test_makes() {
    let out = bpflet_to_end(&["run", guest("rust-hostile").to_str().unwrap(), "attack", "list"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let listed: std::collections::BTreeSet<&str> =
        out.stdout.lines().filter_map(|l| l.split_once(": ")).map(|(name, _)| name).collect();
    let tried: std::collections::BTreeSet<&str> = attacks().iter().map(|a| a.args[0]).collect();
    assert_eq!(listed, tried, "every attack the guest knows is tried here, and only those");
}
