//! The `bpflet` command line: `run` (program resolution, the store,
//! signals, exit codes, the compiled cache), `build`, `push` and `pull`.
//! The bpflet interfaces themselves are the runtime crate's
//! (host/runtime); this crate is one embedder of it.

mod builtin;
mod cache;
mod compile;
mod duration;
mod oci;
mod plugins;
mod privileges;
mod program;
mod run;
mod signals;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use bpflet_runtime::{AttachKind, AttachRule, Grant, Limit, Limits, Named, Policy};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use crate::program::Program;
use crate::run::RunOptions;

/// Run eBPF programs whose user-space half is a WebAssembly component.
///
/// The component (Rust, C, Go, ...) imports the bpflet:ebpf interfaces
/// (ebpf-loader, maps, events); bpflet loads its BPF objects into the running
/// kernel with libbpf and tears everything down when the guest exits or is
/// stopped. Or write only the kernel C: `bpflet build prog.bpf.c`, then
/// `bpflet run prog.bpf.o --help`. Needs root (or CAP_BPF + CAP_PERFMON +
/// CAP_NET_ADMIN).
#[derive(Parser)]
#[command(name = "bpflet", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile the kernel half (CO-RE C) into a BPF object `bpflet run` can
    /// run bare.
    ///
    /// Runs clang (-target bpf -g -O2) against a vmlinux.h generated from
    /// the running kernel's BTF (or --btf), with libbpf's BPF headers, and
    /// records the doc comments of `const volatile` globals for the flags'
    /// help. Needs clang and bpftool; `bpflet run` needs neither.
    #[command(after_help = "Example:\n  bpflet build exectrace.bpf.c && bpflet run exectrace.bpf.o --help")]
    Build {
        /// The C source (e.g. prog.bpf.c).
        source: PathBuf,
        /// Where to write the object [default: prog.bpf.o beside the source].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// BTF to generate vmlinux.h from.
        #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
        btf: PathBuf,
        /// Extra include directory (repeatable).
        #[arg(short = 'I', long = "include", value_name = "DIR")]
        includes: Vec<PathBuf>,
        /// Extra argument for clang (repeatable).
        #[arg(long = "cflag", value_name = "ARG", allow_hyphen_values = true)]
        cflags: Vec<String>,
    },
    /// Run a component (its wasi:cli/run), or a bare BPF object.
    ///
    /// A bare BPF object (prog.bpf.o) runs under the built-in kernel-only
    /// runner: `bpflet run prog.bpf.o --help` lists the flags made from its
    /// `const volatile` globals.
    ///
    /// Guest stdout and stderr go to the terminal; the exit status is the
    /// guest's: 0 on success, 1 on error or a non-zero exit (WASI 0.2 exit
    /// carries only success or failure; exit-with-code gives the exact
    /// code), 130/143 on SIGINT/SIGTERM, 124 when --timeout stopped it. Every program, link and map the guest created is gone when
    /// bpflet returns.
    #[command(
        after_help = "Examples:\n  bpflet run target/guests/rust-execsnoop.wasm\n  bpflet run target/guests/rust-syscount.wasm -- --top 5 --interval 2"
    )]
    Run {
        /// The component file (.wasm), a BPF object (.bpf.o), or a program
        /// in an OCI registry: oci://REGISTRY/REPOSITORY[:TAG|@DIGEST].
        component: PathBuf,
        /// Arguments passed to the guest (for a component after `--`; for a
        /// BPF object directly, e.g. `bpflet run prog.bpf.o --pid 42`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
        /// Set an environment variable in the guest (KEY=VALUE; repeatable).
        #[arg(long = "env", short = 'e', value_name = "KEY=VALUE", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Let the guest open a host directory (HOST[::GUEST]; repeatable).
        #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
        dirs: Vec<(PathBuf, String)>,
        /// Compile the component afresh instead of using the compiled cache
        /// (~/.cache/bpflet, or $BPFLET_CACHE_DIR).
        #[arg(long)]
        no_cache: bool,
        /// Offer a BPF object file to the guest, by its file name
        /// (ebpf-loader `packaged-objects` / `open-packaged`; repeatable).
        #[arg(long = "object", value_name = "FILE.bpf.o")]
        objects: Vec<PathBuf>,
        /// Print libbpf's log to stderr.
        #[arg(long, short)]
        verbose: bool,
        #[arg(
            long = "allow-attach",
            value_name = "KIND[:PATTERN],...",
            value_delimiter = ',',
            value_parser = parsed(str::parse::<AttachRule>),
            help = attach_help()
        )]
        allow_attach: Option<Vec<AttachRule>>,
        /// Grant the guest what it may not do by default (comma-separated;
        /// repeatable). Without a grant the call is permission-denied.
        #[arg(long = "allow", value_name = "GRANT,...", value_delimiter = ',', value_parser = choices::<Grant>())]
        allow: Vec<Grant>,
        /// Limit the guest's linear memories, all of them together
        /// (plug-ins' included), to SIZE (bytes, or with a K, M or G
        /// suffix). Growth beyond it is refused; a ring mapped with
        /// map-ring counts (twice its size).
        #[arg(long = "max-memory", value_name = "SIZE", value_parser = bpflet_runtime::size::parse)]
        max_memory: Option<u64>,
        #[arg(long = "limit", value_name = "NAME=VALUE", value_parser = parsed(Limit::parse_setting), help = limits_help())]
        limits: Vec<(Limit, u64)>,
        /// Stop the guest after DURATION (30s, 1.5m, 500ms, 2h; seconds
        /// without a unit), as SIGTERM would: a guest that handles stops
        /// gets to finish. bpflet then says so and exits with 124.
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        timeout: Option<std::time::Duration>,
        /// Read policy options from FILE, one per line as on the command
        /// line without the leading dashes (`allow-attach tracepoint:sched/*`,
        /// `allow map-ring`, `limit objects=16`, `max-memory 256M`,
        /// `allow-declared`, `timeout 1h`; `#` starts a comment), as if
        /// given here.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Grant an oci:// program what its manifest declares it needs
        /// (`bpflet push --declare-attach`, `--declare`). Without it, or
        /// --allow-attach, a program from a registry may attach nothing; bpflet
        /// prints what it declares and what was granted.
        #[arg(long)]
        allow_declared: bool,
        /// Talk plain HTTP to the registry of an oci:// program (a
        /// registry on localhost gets it without asking).
        #[arg(long)]
        plain_http: bool,
        /// A component that provides interfaces the program imports
        /// (bpflet:ebpf/render, ...): a file or oci://REF (repeatable).
        /// It comes before the directories of $BPFLET_PLUGIN_PATH and the
        /// built-in providers.
        #[arg(long = "plug", value_name = "FILE|oci://REF")]
        plugs: Vec<String>,
        /// Let plug-ins import this host interface (for example
        /// wasi:sockets/tcp@0.2.12; repeatable). Without it a plug-in
        /// gets WIT types (bpflet:ebpf/types, btf), other plug-ins, and of
        /// WASI the streams, clocks, randomness, stdio and exit; its
        /// wasi:filesystem/preopens and wasi:cli/environment are a sandbox
        /// with no directories, arguments or variables.
        #[arg(long = "plug-allow", value_name = "INTERFACE")]
        plug_allow: Vec<String>,
    },
    /// Push a program to an OCI registry: a component, with the BPF objects
    /// it opens with open-packaged (--object), or a bare BPF object.
    ///
    /// The component goes up as a standard Wasm OCI artifact (config
    /// application/vnd.wasm.config.v0+json, one application/wasm layer),
    /// each object as a layer of type application/vnd.bpflet.bpf-object.v1
    /// named by its file name. Credentials, if the registry needs them:
    /// BPFLET_REGISTRY_USER and BPFLET_REGISTRY_PASSWORD.
    #[command(
        after_help = "Examples:\n  bpflet push target/guests/rust-execsnoop.wasm localhost:5000/tools/execsnoop:1.0\n  \
                            bpflet push exectrace.bpf.o registry.example.com/tools/exectrace:1.0\n  \
                            bpflet run oci://localhost:5000/tools/execsnoop:1.0"
    )]
    Push {
        /// The component (.wasm) or BPF object (.bpf.o).
        file: PathBuf,
        /// Where: REGISTRY/REPOSITORY[:TAG] (oci:// optional).
        reference: String,
        /// A BPF object to ship with the component (repeatable).
        #[arg(long = "object", value_name = "FILE.bpf.o")]
        objects: Vec<PathBuf>,
        /// Talk plain HTTP to the registry (a registry on localhost gets it
        /// without asking).
        #[arg(long)]
        plain_http: bool,
        /// Push the composition `bpflet compose` would write (the program
        /// with its plug-ins), for hosts that cannot assemble.
        #[arg(long)]
        compose: bool,
        /// With --compose: a provider to plug in before any other
        /// (repeatable).
        #[arg(long = "plug", value_name = "FILE|oci://REF", requires = "compose")]
        plugs: Vec<String>,
        /// Declare the attachments the program needs, as `run
        /// --allow-attach` takes them (comma-separated; repeatable). `bpflet
        /// run oci://` grants them only with --allow-declared.
        #[arg(long = "declare-attach", value_name = "KIND[:PATTERN],...", value_delimiter = ',', value_parser = parsed(str::parse::<AttachRule>))]
        declare_attach: Vec<AttachRule>,
        /// Declare the grants the program needs, as `run --allow` takes them
        /// (comma-separated; repeatable).
        #[arg(long = "declare", value_name = "GRANT,...", value_delimiter = ',', value_parser = choices::<Grant>())]
        declare: Vec<Grant>,
    },
    /// Write the composition that `bpflet run` would assemble.
    ///
    /// The program with a provider of every interface it imports that the
    /// host does not serve, found as `run` finds them (--plug, $BPFLET_PLUGIN_PATH,
    /// the built-in providers). The result imports only what the host
    /// serves: run it on any bpflet, or pass it on.
    #[command(after_help = "Examples:\n  bpflet compose tool.wasm -o tool-composed.wasm\n  \
                            bpflet compose tool.wasm --plug my-render.wasm -o tool-composed.wasm")]
    Compose {
        /// The program: a component file or oci://REF.
        program: PathBuf,
        /// Where to write the composed component.
        #[arg(short, long, value_name = "OUT.wasm")]
        output: PathBuf,
        /// A provider to plug in before any other: a file or oci://REF
        /// (repeatable).
        #[arg(long = "plug", value_name = "FILE|oci://REF")]
        plugs: Vec<String>,
        /// Let plug-ins import this host interface (repeatable).
        #[arg(long = "plug-allow", value_name = "INTERFACE")]
        plug_allow: Vec<String>,
        /// Leave the built-in providers out: every import must come from
        /// --plug or $BPFLET_PLUGIN_PATH.
        #[arg(long)]
        no_builtin: bool,
        /// Talk plain HTTP to registries.
        #[arg(long)]
        plain_http: bool,
    },
    /// Show what a program imports and exports, and who serves each import.
    ///
    /// Who would serve each import when it runs: the host, a plug-in (found as `run` finds
    /// them: --plug, $BPFLET_PLUGIN_PATH, the built-in providers), or
    /// nobody. A bare BPF object shows the kernel-only runner.
    #[command(
        after_help = "Examples:\n  bpflet inspect tool.wasm\n  bpflet inspect --json --plug my-render.wasm tool.wasm"
    )]
    Inspect {
        /// The program: a component file, a BPF object, or oci://REF.
        program: PathBuf,
        /// A provider to consider before any other (repeatable).
        #[arg(long = "plug", value_name = "FILE|oci://REF")]
        plugs: Vec<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Talk plain HTTP to registries.
        #[arg(long)]
        plain_http: bool,
    },
    /// List the plug-in providers built into bpflet, or write them out.
    ///
    /// Written out, they serve `wac plug` and `wasm-tools compose`, or as a
    /// starting point for a plug-in of your own.
    #[command(
        after_help = "Examples:\n  bpflet plugins\n  bpflet plugins --write plugins/ && wac plug tool.wasm --plug plugins/render.wasm -o tool-composed.wasm"
    )]
    Plugins {
        /// Write each provider to DIR/NAME.wasm.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Pull a program from an OCI registry into files: the component as
    /// REPOSITORY-NAME.wasm and each BPF object under its own name.
    Pull {
        /// REGISTRY/REPOSITORY[:TAG|@DIGEST] (oci:// optional).
        reference: String,
        /// The directory to write into.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// Talk plain HTTP to the registry.
        #[arg(long)]
        plain_http: bool,
    },
}

/// `--allow-attach` takes the runtime's attachment kinds, each listed with
/// what it covers in `--help`.
/// A parser of `T`'s names, which `--help` lists with their help.
fn choices<T: Named + std::str::FromStr<Err = bpflet_runtime::Error> + Send + Sync + Clone>(
) -> impl TypedValueParser<Value = T> {
    let values = T::ALL.iter().map(|value| PossibleValue::new(value.name()).help(value.description()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<T>())
}

/// What a run allows: the options' attachments and grants, and for a
/// program from a registry, what its manifest declares if the user
/// accepts it (`--allow-declared`); a registry's program without either
/// may attach nothing. Says what was declared and granted.
fn granted(
    component: &Path,
    declared: Option<&oci::Declared>,
    allow_declared: bool,
    attach: Option<Vec<AttachRule>>,
    mut grants: Vec<Grant>,
) -> anyhow::Result<(Option<Vec<AttachRule>>, Vec<Grant>)> {
    let Some(declared) = declared else {
        if allow_declared {
            anyhow::bail!("--allow-declared grants what an oci:// program declares; {} is a file", component.display());
        }
        return Ok((attach, grants));
    };
    let name = component.display();
    if declared.is_empty() {
        eprintln!("bpflet: {name} declares nothing it needs");
    } else {
        let verdict =
            if allow_declared { "granted (--allow-declared)" } else { "not granted (--allow-declared grants it)" };
        eprintln!("bpflet: {name} declares {}: {verdict}", declared.as_options());
    }
    // The user's own rules decide where they are given; the declared ones
    // stand in for them otherwise.
    let mut attach = match attach {
        Some(rules) => {
            if allow_declared && !declared.attach.is_empty() {
                eprintln!("bpflet: --allow-attach given: the declared attachments are not granted");
            }
            rules
        }
        None if allow_declared => declared.attach.clone(),
        None => Vec::new(),
    };
    if allow_declared {
        grants.extend(declared.grants.iter().copied());
    }
    attach.dedup();
    if attach.is_empty() {
        eprintln!("bpflet: {name} may attach nothing (--allow-attach, or --allow-declared, allows it)");
    }
    Ok((Some(attach), grants))
}

/// `--allow-attach`'s help: every kind, with what it covers and what its
/// pattern matches.
fn attach_help() -> String {
    listed::<AttachKind>(
        "Allow only these attachments (comma-separated; repeatable): a kind, or KIND:PATTERN for what it may \
         attach to (tracepoint:sched/*, xdp:lo, uprobe:/usr/bin/*, cgroup:/sys/fs/cgroup/app, \
         kprobe:do_sys_*; * is any run of characters, ? one). Any other attach fails with \
         permission-denied, naming the rule that would allow it. Without this option every attachment is \
         allowed. An `auto` attachment counts as the kind its section names (SEC(\"tp/...\") is a \
         tracepoint, its target the section's category/name). The kinds:",
    )
}

/// `--limit`'s help: every limit, with what it counts and its default.
fn limits_help() -> String {
    listed::<Limit>(
        "Change how much the guest may hold at once (NAME=VALUE; repeatable). A call that would hold more is \
         permission-denied and names the limit. The limits:",
    )
}

/// `intro`, then a line for each of `T`'s values: its name and help.
fn listed<T: Named>(intro: &str) -> String {
    let mut help = intro.to_string();
    for value in T::ALL {
        help.push_str(&format!("\n  {}: {}", value.name(), value.description()));
    }
    help
}

/// A value parser over `parse`, its error as clap shows it.
fn parsed<T: Send + Sync + Clone + 'static>(
    parse: fn(&str) -> Result<T, bpflet_runtime::Error>,
) -> impl TypedValueParser<Value = T> {
    clap::builder::StringValueParser::new().try_map(move |text| parse(&text).map_err(|e| e.to_string()))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    Ok(match s.split_once("::") {
        Some((host, guest)) => (host.into(), guest.to_string()),
        None => (s.into(), s.to_string()),
    })
}

/// Splits `bpflet run [OPTIONS] FILE GUEST-ARGS...` so that everything after
/// FILE goes to the guest untouched (`bpflet run prog.bpf.o --help` is the
/// program's help, not bpflet's). A `--` right after FILE is dropped.
fn split_guest_args(argv: Vec<OsString>) -> (Vec<OsString>, Vec<String>) {
    if argv.get(1).and_then(|a| a.to_str()) != Some("run") {
        return (argv, Vec::new());
    }
    // `run`'s options that take a value as the next argument, from clap's
    // own definition of them.
    let cli = <Cli as clap::CommandFactory>::command();
    let takes_value: Vec<String> = cli
        .find_subcommand("run")
        .map(|run| {
            run.get_arguments()
                .filter(|a| !a.is_positional() && a.get_action().takes_values())
                .flat_map(|a| {
                    let long = a.get_long().map(|l| format!("--{l}"));
                    let short = a.get_short().map(|s| format!("-{s}"));
                    long.into_iter().chain(short)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut i = 2;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        if arg == "--" || !arg.starts_with('-') {
            break;
        }
        i += if takes_value.iter().any(|t| t == arg) { 2 } else { 1 };
    }
    if argv.get(i).and_then(|a| a.to_str()) == Some("--") || i >= argv.len() {
        return (argv, Vec::new());
    }
    let mut guest: Vec<String> = argv[i + 1..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    if guest.first().map(String::as_str) == Some("--") {
        guest.remove(0);
    }
    (argv[..=i].to_vec(), guest)
}

/// The options a policy file may hold, and whether each takes a value.
const POLICY_OPTIONS: &[(&str, bool)] = &[
    ("allow-attach", true),
    ("allow", true),
    ("limit", true),
    ("max-memory", true),
    ("allow-declared", false),
    ("timeout", true),
];

/// `bpflet run --policy FILE`: the file's options, inserted after it as
/// if they were given there (clap then parses them as any other).
fn expand_policy_files(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    if argv.get(1).and_then(|a| a.to_str()) != Some("run") {
        return Ok(argv);
    }
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.into_iter();
    while let Some(arg) = args.next() {
        let file = match arg.to_str() {
            Some("--policy") => args.next().map(PathBuf::from),
            Some(text) if text.starts_with("--policy=") => Some(PathBuf::from(&text["--policy=".len()..])),
            _ => None,
        };
        out.push(arg);
        let Some(file) = file else { continue };
        out.push(file.clone().into_os_string());
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read the policy file {}: {e}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (key, value) = line.split_once(char::is_whitespace).map_or((line, None), |(k, v)| (k, Some(v.trim())));
            let at = format!("{} line {}", file.display(), n + 1);
            let Some(&(_, takes_value)) = POLICY_OPTIONS.iter().find(|(name, _)| *name == key) else {
                let names: Vec<&str> = POLICY_OPTIONS.iter().map(|(name, _)| *name).collect();
                return Err(format!("{at}: {key:?} is not a policy option (one of: {})", names.join(", ")));
            };
            // A value where none belongs, or none where one does, would
            // shift the command line's own arguments.
            match (takes_value, value) {
                (true, None) => return Err(format!("{at}: {key} needs a value")),
                (false, Some(value)) => return Err(format!("{at}: {key} takes no value, not {value:?}")),
                _ => {}
            }
            out.push(format!("--{key}").into());
            out.extend(value.map(OsString::from));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let (argv, guest_args) = split_guest_args(std::env::args_os().collect());
    let argv = match expand_policy_files(argv) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("bpflet: error: {message}");
            return ExitCode::from(2);
        }
    };
    let mut cli = Cli::parse_from(argv);
    if let Command::Run { args, .. } = &mut cli.command {
        args.extend(guest_args);
    }
    let outcome = match cli.command {
        Command::Push { file, reference, objects, plain_http, compose, plugs, declare_attach, declare } => {
            let compose = compose.then_some(plugs.as_slice());
            let declared = oci::Declared { attach: declare_attach, grants: declare };
            push(&file, &reference, &objects, &declared, plain_http, compose).map(|()| 0)
        }
        Command::Pull { reference, output, plain_http } => pull(&reference, &output, plain_http).map(|()| 0),
        Command::Plugins { write } => plugins::built_in(write.as_deref()).map(|()| 0),
        Command::Inspect { program, plugs, json, plain_http } => {
            Program::resolve(&program, &[], plain_http).and_then(|resolved| {
                let places = plugins::places(&plugs, true, plain_http)?;
                plugins::inspect(&program, &resolved, &places, json).map(|()| 0)
            })
        }
        Command::Compose { program, output, plugs, plug_allow, no_builtin, plain_http } => {
            compose(&program, &output, &plugs, &plug_allow, !no_builtin, plain_http).map(|()| 0)
        }
        Command::Build { source, output, btf, includes, cflags } => {
            let options = compile::BuildOptions { source, output, btf, includes, cflags };
            compile::build(&options).map(|object| {
                eprintln!("bpflet: wrote {}", object.display());
                0
            })
        }
        Command::Run {
            component,
            args,
            env,
            dirs,
            no_cache,
            verbose,
            objects,
            allow_attach,
            allow,
            max_memory,
            limits: limit_settings,
            policy: _,
            allow_declared,
            timeout,
            plain_http,
            plugs,
            plug_allow,
        } => privileges::drop_unneeded()
            .context("dropping the capabilities a run does not need")
            .and_then(|()| run::Start::new())
            .and_then(|start| {
                let program = Program::resolve(&component, &objects, plain_http)?;
                let mut limits = Limits::default();
                for (limit, value) in limit_settings {
                    limits.set(limit, value);
                }
                let dirs_named =
                    dirs.iter().map(|(host, _)| std::fs::canonicalize(host).unwrap_or(host.clone())).collect();
                let (attach, grants) =
                    granted(&component, program.declared.as_ref(), allow_declared, allow_attach, allow)?;
                let policy = Policy { attach, max_memory, grants, limits, dirs: dirs_named };
                let options =
                    RunOptions { args, env, dirs, no_cache, verbose, policy, plugs, plug_allow, plain_http, timeout };
                run::run(start, program, options)
            }),
    };
    match outcome {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            eprintln!("bpflet: error: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// Pushes `file`; with `compose` (the `--plug`s), the composition of it.
fn push(
    file: &Path,
    reference: &str,
    objects: &[PathBuf],
    declared: &oci::Declared,
    plain_http: bool,
    compose: Option<&[String]>,
) -> anyhow::Result<()> {
    let mut bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if let Some(plugs) = compose {
        if bytes.starts_with(b"\x7fELF") {
            anyhow::bail!("{} is a BPF object: --compose takes a component", file.display());
        }
        let places = plugins::places(plugs, true, plain_http)?;
        let (composed, plugged) = plugins::assemble(bytes, places, &[])?;
        for line in &plugged {
            eprintln!("bpflet: {line}");
        }
        bytes = composed;
    }
    let url = oci::push(file, bytes, objects, reference, declared, plain_http)?;
    plugins::print(&format!("pushed {} to {url}\n", file.display()))?;
    Ok(())
}

fn compose(
    program: &Path,
    output: &Path,
    plugs: &[String],
    allowed: &[String],
    built_in: bool,
    plain_http: bool,
) -> anyhow::Result<()> {
    let resolved = Program::resolve(program, &[], plain_http)?;
    if resolved.kernel_only {
        anyhow::bail!("{} is a BPF object: compose takes a component", program.display());
    }
    if !resolved.packaged.is_empty() {
        eprintln!("bpflet: note: the BPF objects that came with {} are not part of the composition", program.display());
    }
    let places = plugins::places(plugs, built_in, plain_http)?;
    let (component, plugged) = plugins::assemble(resolved.component, places, allowed)?;
    std::fs::write(output, &component).with_context(|| format!("cannot write {}", output.display()))?;
    for line in &plugged {
        eprintln!("bpflet: {line}");
    }
    eprintln!("bpflet: wrote {}", output.display());
    Ok(())
}

/// Writes `bytes` to `path`, a plain file name in the output directory:
/// never through a symbolic link (a registry names the files; whoever
/// could plant a link there must not choose where they go).
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => {
                anyhow::anyhow!("{} is a symbolic link; bpflet pull does not write through one", path.display())
            }
            _ => anyhow::Error::from(e).context(format!("cannot write {}", path.display())),
        })?;
    file.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn pull(reference: &str, output: &Path, plain_http: bool) -> anyhow::Result<()> {
    let artifact = oci::pull(reference, plain_http)?;
    std::fs::create_dir_all(output).with_context(|| format!("cannot create {}", output.display()))?;
    let mut files = Vec::new();
    if let Some(component) = &artifact.component {
        files.push((output.join(oci::component_file_name(reference)), component));
    }
    for (name, bytes) in &artifact.objects {
        let path = output.join(name);
        if files.iter().any(|(other, _)| *other == path) {
            anyhow::bail!("{} has a BPF object named {name:?} like its component", oci::strip_scheme(reference));
        }
        files.push((path, bytes));
    }
    for (path, bytes) in files {
        write_new(&path, bytes)?;
        plugins::print(&format!("{}\n", path.display()))?;
    }
    eprintln!("bpflet: pulled {} ({})", oci::strip_scheme(reference), artifact.digest);
    Ok(())
}
