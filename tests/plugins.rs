//! Runtime assembly on `bpflet run`: a program that imports plug-in
//! interfaces (the kernel-only runner imports `render` and `histogram`)
//! is composed with providers from `--plug`, `BPFLET_PLUGIN_PATH` and the
//! built-in ones. Every way it can go wrong is a clear error that names
//! the interface and where bpflet looked, with nothing loaded.
//!
//! The stand-in components are made as users make them, with wasm-tools
//! from the repo's WIT (`component embed --dummy`, `component new`): their
//! functions trap, which is fine, since each case here fails (or succeeds)
//! before anything calls them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// A copy of the repo's WIT in `dir`, every `bpflet:ebpf` version set to
/// `version`, with `extra` added as one more file of the package.
fn wit_copy(dir: &Path, version: &str, extra: &str) -> PathBuf {
    let wit = dir.join(format!("wit-{version}"));
    let _ = std::fs::remove_dir_all(&wit);
    std::fs::create_dir_all(wit.join("deps")).unwrap();
    for entry in std::fs::read_dir(repo_root().join("wit")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wit") {
            let text = std::fs::read_to_string(&path).unwrap().replace("@0.2.0", &format!("@{version}"));
            std::fs::write(wit.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    for entry in std::fs::read_dir(repo_root().join("wit/deps")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, wit.join("deps").join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(wit.join("extra.wit"), format!("package bpflet:ebpf@{version};\n{extra}")).unwrap();
    wit
}

/// A component of `world` in `wit` whose functions trap.
fn dummy(wit: &Path, world: &str, out: &Path) -> PathBuf {
    let core = wit.join(format!("{world}.core.wasm"));
    for args in [
        vec!["component", "embed", "--dummy", wit.to_str().unwrap(), "--world", world, "-o", core.to_str().unwrap()],
        vec!["component", "new", core.to_str().unwrap(), "-o", out.to_str().unwrap()],
    ] {
        let status = Command::new("wasm-tools").args(&args).status().expect("wasm-tools (make setup installs it)");
        assert!(status.success(), "wasm-tools {args:?}");
    }
    out.to_path_buf()
}

fn sizehist() -> PathBuf {
    object("sizehist")
}

/// `bpflet run ARGS` to its end, checked to have failed with exactly
/// `message` and loaded nothing.
fn fails_with(env: &[(&str, &Path)], args: &[&str], message: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let mut argv = vec!["run"];
    argv.extend(args);
    let out = bpflet_to_end_with(env, &argv);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, format!("bpflet: error: {message}\n"));
    assert_eq!(out.stdout, "");
    before.assert_nothing_new_left();
}

#[test]
fn the_runner_is_assembled_with_the_built_in_providers() {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let object = sizehist();
    let out = bpflet_to_end(&["run", "-v", object.to_str().unwrap(), "--target_pid", &me, "--duration", "1"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("bpflet: bpflet:ebpf/render@0.2.0 from built-in render\n"), "{}", out.stderr);
    assert!(out.stderr.contains("bpflet: bpflet:ebpf/histogram@0.2.0 from built-in histogram\n"), "{}", out.stderr);
    before.assert_nothing_new_left();
}

#[test]
fn a_missing_provider_names_the_interface_and_every_place() {
    let dir = scratch("plugins-missing");
    let wit = wit_copy(
        &dir,
        "0.2.0",
        "interface made-up { f: func(); }\nworld needs-made-up { include program; import made-up; }\n",
    );
    let program = dummy(&wit, "needs-made-up", &dir.join("needs-made-up.wasm"));
    let plugin_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    dummy(&wit, "histogram-provider", &plugin_dir.join("hist.wasm"));
    fails_with(
        &[("BPFLET_PLUGIN_PATH", &plugin_dir)],
        &[program.to_str().unwrap()],
        &format!(
            "no component provides bpflet:ebpf/made-up@0.2.0, which the program imports; looked in \
             --plug: no components; {} (BPFLET_PLUGIN_PATH): 1 component(s), none exports it; \
             the built-in providers: 2 component(s), none exports it",
            plugin_dir.display()
        ),
    );
}

#[test]
fn two_providers_in_one_place_conflict() {
    let dir = scratch("plugins-conflict");
    let wit = wit_copy(&dir, "0.2.0", "");
    let one = dummy(&wit, "render-provider", &dir.join("one.wasm"));
    let two = dummy(&wit, "render-provider", &dir.join("two.wasm"));
    let (one, two) = (one.to_str().unwrap(), two.to_str().unwrap());
    fails_with(
        &[],
        &["--plug", one, "--plug", two, sizehist().to_str().unwrap()],
        &format!("2 components in --plug export bpflet:ebpf/render@0.2.0: {one}, {two}; keep one"),
    );
}

#[test]
fn a_provider_of_an_incompatible_version_is_refused() {
    let dir = scratch("plugins-version");
    let wit = wit_copy(&dir, "0.3.0", "");
    let render = dummy(&wit, "render-provider", &dir.join("render-0.3.wasm"));
    let render = render.to_str().unwrap();
    fails_with(
        &[],
        &["--plug", render, sizehist().to_str().unwrap()],
        &format!(
            "{render} (--plug) exports bpflet:ebpf/render@0.3.0, which does not fit bpflet:ebpf/render@0.2.0 \
             that the program imports (the versions are not compatible)"
        ),
    );
}

#[test]
fn a_plug_in_may_not_import_beyond_its_world() {
    let dir = scratch("plugins-capability");
    let wit = wit_copy(&dir, "0.2.0", "world greedy-render { import maps; export render; }\n");
    let greedy = dummy(&wit, "greedy-render", &dir.join("greedy.wasm"));
    let greedy = greedy.to_str().unwrap();
    fails_with(
        &[],
        &["--plug", greedy, sizehist().to_str().unwrap()],
        &format!(
            "plug-in {greedy} imports bpflet:ebpf/maps@0.2.0, which plug-ins may not use; allow it with \
             --plug-allow bpflet:ebpf/maps@0.2.0 if you trust it"
        ),
    );
    // The network is no more a plug-in's than the maps are.
    let wit = wit_copy(&dir, "0.2.0", "world nosy-render { import wasi:sockets/network@0.2.12; export render; }\n");
    let nosy = dummy(&wit, "nosy-render", &dir.join("nosy.wasm"));
    let nosy = nosy.to_str().unwrap();
    fails_with(
        &[],
        &["--plug", nosy, sizehist().to_str().unwrap()],
        &format!(
            "plug-in {nosy} imports wasi:sockets/network@0.2.12, which plug-ins may not use; allow it with \
             --plug-allow wasi:sockets/network@0.2.12 if you trust it"
        ),
    );
}

/// A plug-in built against another WASI 0.2 release gets its environment
/// from the sandbox, but not its preopens: a preopen is a descriptor of
/// the sandbox's WASI version, not of the plug-in's.
#[test]
fn a_plug_in_of_another_wasi_release_is_told_which_one_the_sandbox_serves() {
    let dir = scratch("plugins-sandbox-version");
    let wit = wit_copy(
        &dir,
        "0.2.0",
        "world old-histogram { import wasi:cli/environment@0.2.12; import wasi:filesystem/preopens@0.2.12; \
         export histogram; }\n",
    );
    // The WASI packages (and the references to them) as a later release.
    for entry in std::fs::read_dir(&wit).unwrap().chain(std::fs::read_dir(wit.join("deps")).unwrap()) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wit") {
            let text = std::fs::read_to_string(&path).unwrap().replace("@0.2.12", "@0.2.13");
            std::fs::write(&path, text).unwrap();
        }
    }
    let old = dummy(&wit, "old-histogram", &dir.join("old.wasm"));
    let old = old.to_str().unwrap();
    fails_with(
        &[],
        &["--plug", old, sizehist().to_str().unwrap()],
        &format!(
            "plug-in {old} imports wasi:filesystem/preopens@0.2.13, but the plug-in sandbox serves \
             wasi:filesystem/preopens@0.2.12: build the plug-in against WASI 0.2.12, or give it the host's with \
             --plug-allow wasi:filesystem/preopens@0.2.13"
        ),
    );
}

/// A plug-in whose language runtime asks for files and the environment
/// (Go's does) gets the sandbox's: no directories, no arguments, no
/// variables; `--plug-allow` gives it the host's instead.
#[test]
fn a_plug_in_gets_the_sandbox_for_files_and_environment() {
    let _serial = serial();
    let before = KernelObjects::now();
    let provider = guest("go-histogram-provider");
    let provider = provider.to_str().unwrap();
    let me = std::process::id().to_string();
    let object = sizehist();
    let run = |allow: &[&str]| {
        let mut args = vec!["run", "-v", "--no-cache", "--plug", provider];
        args.extend(allow);
        args.extend([object.to_str().unwrap(), "--target_pid", &me, "--duration", "1"]);
        let out = bpflet_to_end(&args);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stderr
    };
    let sandbox = |interface: &str| {
        format!("bpflet: wasi:{interface}@0.2.12 from the plug-in sandbox (nothing) (for plug-in {provider})\n")
    };
    let stderr = run(&[]);
    assert!(stderr.contains(&format!("bpflet: bpflet:ebpf/histogram@0.2.0 from {provider}\n")), "{stderr}");
    assert!(stderr.contains(&sandbox("filesystem/preopens")), "{stderr}");
    assert!(stderr.contains(&sandbox("cli/environment")), "{stderr}");
    let stderr = run(&["--plug-allow", "wasi:cli/environment@0.2.12"]);
    assert!(stderr.contains(&sandbox("filesystem/preopens")), "{stderr}");
    assert!(!stderr.contains(&sandbox("cli/environment")), "{stderr}");
    before.assert_nothing_new_left();
}

#[test]
fn compose_writes_what_run_would_assemble() {
    let dir = scratch("plugins-compose");
    let wit = wit_copy(&dir, "0.2.0", "world tool { include program; include plugins; }\n");
    let program = dummy(&wit, "tool", &dir.join("tool.wasm"));
    let composed = dir.join("tool-composed.wasm");
    let out = bpflet_to_end(&["compose", program.to_str().unwrap(), "-o", composed.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!(
            "bpflet: bpflet:ebpf/render@0.2.0 from built-in render\n\
             bpflet: bpflet:ebpf/histogram@0.2.0 from built-in histogram\n\
             bpflet: wrote {}\n",
            composed.display()
        )
    );
    // What is left to import is the host's alone.
    let wit = Command::new("wasm-tools").args(["component", "wit"]).arg(&composed).output().unwrap();
    let wit = String::from_utf8(wit.stdout).unwrap();
    let imports: Vec<&str> = wit.lines().filter_map(|l| l.trim().strip_prefix("import ")).collect();
    assert!(imports.contains(&"bpflet:ebpf/maps@0.2.0;"), "{wit}");
    assert!(!imports.iter().any(|i| i.contains("render") || i.contains("histogram")), "{wit}");
    assert!(wit.contains("export wasi:cli/run@0.2.12;"), "{wit}");

    // Without the built-in providers nothing serves the plug-in imports.
    let out = bpflet_to_end(&["compose", "--no-builtin", program.to_str().unwrap(), "-o", composed.to_str().unwrap()]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.starts_with("bpflet: error: no component provides bpflet:ebpf/"), "{}", out.stderr);
}

/// The compiled cache holds native code that bpflet runs as it is: a
/// cache directory or file that others can write is not used (bpflet says
/// so and compiles in memory), and what bpflet writes there only its user
/// can.
#[test]
fn a_compiled_cache_that_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("plugins-cache-trust");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let mode = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    mode(&cache, 0o777);
    let me = std::process::id().to_string();
    let object = sizehist();
    let start = || {
        let _serial = serial();
        let env: [(&str, &Path); 1] = [("BPFLET_CACHE_DIR", &cache)];
        let out =
            bpflet_to_end_with(&env, &["run", "-v", object.to_str().unwrap(), "--target_pid", &me, "--duration", "1"]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stderr
    };
    let compiled = "bpflet: program assembled and compiled\n";
    let cached = "bpflet: program from the cache: nothing assembled or compiled\n";
    let refused = format!(
        "bpflet: not using the compiled cache {0}: {0} is writable by others (mode 777); compiling in memory\n",
        cache.display()
    );
    for _ in 0..2 {
        let stderr = start();
        assert!(stderr.contains(&refused) && stderr.contains(compiled), "{stderr}");
    }
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0, "bpflet wrote into a cache it does not trust");

    // This user's alone: used, and its files are too.
    mode(&cache, 0o700);
    assert!(start().contains(compiled));
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let m = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o600, "{}", file.display());
    }
    assert!(start().contains(cached));
    // A cached file others could have changed is compiled afresh (and
    // written again as this user's alone).
    for file in &files {
        mode(file, 0o666);
    }
    assert!(start().contains(compiled));
    assert!(start().contains(cached));
}

#[test]
fn a_second_start_assembles_and_compiles_nothing_until_a_part_changes() {
    let dir = scratch("plugins-cache");
    let cache = dir.join("cache");
    let plugin_dir = dir.join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let wit = wit_copy(&dir, "0.2.0", "interface extra { f: func(); }\nworld extra-provider { export extra; }\n");
    dummy(&wit, "extra-provider", &plugin_dir.join("extra.wasm"));
    let me = std::process::id().to_string();
    let object = sizehist();
    let start = || {
        let _serial = serial();
        let env: [(&str, &Path); 2] = [("BPFLET_CACHE_DIR", &cache), ("BPFLET_PLUGIN_PATH", &plugin_dir)];
        let out =
            bpflet_to_end_with(&env, &["run", "-v", object.to_str().unwrap(), "--target_pid", &me, "--duration", "1"]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stderr.contains("bpflet: bpflet:ebpf/render@0.2.0 from built-in render\n"), "{}", out.stderr);
        let line = out.stderr.lines().find(|l| l.starts_with("bpflet: program ")).map(str::to_string);
        line.unwrap_or_else(|| panic!("no cache line: {}", out.stderr))
    };
    let compiled = "bpflet: program assembled and compiled";
    let cached = "bpflet: program from the cache: nothing assembled or compiled";
    assert_eq!(start(), compiled);
    assert_eq!(start(), cached);
    // Another plug-in in the path (even one this program does not use)
    // is another assembly.
    let wit = wit_copy(&dir, "0.3.0", "interface extra { f: func(); }\nworld extra-provider { export extra; }\n");
    dummy(&wit, "extra-provider", &plugin_dir.join("extra.wasm"));
    assert_eq!(start(), compiled);
    assert_eq!(start(), cached);
}

/// Runs a component tool (`wac`, `wasm-tools`) as a user would.
fn tool(program: &str, args: &[&str]) {
    let out =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} (make setup installs it): {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The same exec seen nine ways prints the same JSON line, byte for byte:
/// the kernel-only runner (`bpflet run exectrace.bpf.o`), and the C and Go
/// programs guests/{c,go}/exectrace (no formatting code of their own: they
/// hand their records to the `render` plug-in), each assembled four ways:
/// by `bpflet run` at run time, by `bpflet compose`, by `wac plug` and by
/// `wasm-tools compose`, the last two with the built-in provider that
/// `bpflet plugins --write` writes out.
#[test]
fn programs_in_c_and_go_print_through_render_as_the_runner_does() {
    let _serial = serial();
    let before = KernelObjects::now();
    let dir = scratch("plugins-exectrace");
    let out = bpflet_to_end(&["plugins", "--write", dir.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let render = dir.join("render.wasm");
    let render = render.to_str().unwrap();
    let mut programs = Vec::new();
    for lang in ["c", "go"] {
        let program = guest(&format!("{lang}-exectrace"));
        let program_s = program.to_str().unwrap();
        let by_bpflet = dir.join(format!("{lang}-by-bpflet.wasm"));
        let out = bpflet_to_end(&["compose", program_s, "-o", by_bpflet.to_str().unwrap()]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let by_wac = dir.join(format!("{lang}-by-wac.wasm"));
        tool("wac", &["plug", program_s, "--plug", render, "-o", by_wac.to_str().unwrap()]);
        let by_wasm_tools = dir.join(format!("{lang}-by-wasm-tools.wasm"));
        tool("wasm-tools", &["compose", program_s, "-d", render, "-o", by_wasm_tools.to_str().unwrap()]);
        programs.extend([program.clone(), by_bpflet, by_wac, by_wasm_tools]);
    }

    let me = std::process::id().to_string();
    let marker = Marker::new("plug-marker");
    let mut runs = vec![(
        spawn_with(&[], &object("exectrace"), &["--json", "--target_ppid", &me]),
        "exectrace.bpf.o: 1 program attached",
    )];
    for program in &programs {
        runs.push((spawn(program, &["--json", "--ppid", &me]), "exectrace: attached"));
    }
    for (run, attached) in &mut runs {
        run.wait_for_stderr(Duration::from_secs(60), |l| l.starts_with(*attached));
    }
    let pid = marker.exec();
    let expected = format!(
        r#"{{"pid":{pid},"ppid":{me},"uid":0,"flagged":false,"comm":"plug-marker","filename":"{}"}}"#,
        marker.path_str()
    );
    for ((run, _), name) in runs.iter_mut().zip(std::iter::once(&object("exectrace")).chain(&programs)) {
        let line = run.wait_for(Duration::from_secs(10), |l| l.contains(&format!("\"pid\":{pid},")));
        assert_eq!(line, expected, "{}", name.display());
    }
    // The runner winds down on Ctrl-C (0); the programs let bpflet
    // interrupt them (130).
    for (i, (run, _)) in runs.into_iter().enumerate() {
        run.signal(SIGINT);
        let (status, _) = run.finish(Duration::from_secs(15));
        assert_eq!(status.code(), Some(if i == 0 { 0 } else { 130 }));
    }
    before.assert_nothing_new_left();
}

/// Histograms across languages, for the same writes, text and JSON: the
/// Rust runner with the built-in (Rust) provider; the Rust runner with the
/// C provider (guests/c/plugins/histogram.c, no imports but WIT types);
/// and the C and Go programs guests/{c,go}/sizehist, which read the map
/// and leave the printing to the built-in provider. All print the same
/// bytes.
/// The histogram providers in Rust (built in), C and Go answer the same
/// calls with the same bytes, edge cases included: log2 narrow and wide,
/// slots past 2^127, linear scales with a negative minimum and bounds past
/// 64 bits, JSON labels, a saturating total, UTF-8 and control characters
/// in the unit, and the refused scales (guests/rust/histcheck makes the
/// calls; it loads no BPF object).
#[test]
fn histogram_providers_agree_on_every_case() {
    let check = guest("rust-histcheck");
    let outputs: Vec<String> = ["", "c-histogram-provider", "go-histogram-provider"]
        .iter()
        .map(|provider| {
            let mut args = vec!["run".to_string()];
            if !provider.is_empty() {
                args.extend(["--plug".to_string(), guest(provider).to_str().unwrap().to_string()]);
            }
            args.push(check.to_str().unwrap().to_string());
            let out = bpflet_to_end(&args);
            assert_eq!(out.code, Some(0), "{provider}: {}", out.stderr);
            out.stdout
        })
        .collect();
    let built_in = &outputs[0];
    for line in [
        "        -10        : 1        |**********                              |",
        "error: InvalidArgument(\"linear scale with step 0: the step must be greater than 0\")",
        r#"{"map":"hist","key\n\"x\"":7,"unit":"bytes","scale":"log2","#,
        r#""total":18446744073709551615}"#,
        // Bounds past 64 bits are exact in JSON too (they wrapped once).
        r#"{"low":9223372036854775808,"high":9223372036854775810,"count":1}"#,
        r#"{"low":85070591730234615865843651857942052864,"high":170141183460469231731687303715884105727,"count":2}"#,
    ] {
        assert!(built_in.contains(line), "no {line:?} in:\n{built_in}");
    }
    assert_eq!(&outputs[1], built_in, "the C provider differs");
    assert_eq!(&outputs[2], built_in, "the Go provider differs");
}

#[test]
fn histograms_print_alike_across_languages_and_providers() {
    use std::io::Write;
    let _serial = serial();
    let before = KernelObjects::now();
    let (c_provider, go_provider) = (guest("c-histogram-provider"), guest("go-histogram-provider"));
    let (c_provider, go_provider) = (c_provider.to_str().unwrap(), go_provider.to_str().unwrap());
    let me = std::process::id().to_string();
    let sizehist = sizehist();
    let sizehist = sizehist.to_str().unwrap();
    let mut runs: Vec<Running> = [&[][..], &["--plug", c_provider][..], &["--plug", go_provider][..]]
        .iter()
        .flat_map(|plug| {
            [&[][..], &["--json"][..]].map(|json| {
                let mut args = vec!["--target_pid", me.as_str()];
                args.extend_from_slice(json);
                spawn_with(plug, Path::new(sizehist), &args)
            })
        })
        .collect();
    for lang in ["c", "go"] {
        let program = guest(&format!("{lang}-sizehist"));
        runs.push(spawn(&program, &["--pid", &me]));
        runs.push(spawn(&program, &["--pid", &me, "--json"]));
    }
    for run in &mut runs {
        run.wait_for_stderr(Duration::from_secs(60), |l| l.contains("attached; Ctrl-C to stop"));
    }
    let mut null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    for (size, times) in [(1usize, 10), (1000, 20), (70_000, 5)] {
        for _ in 0..times {
            assert_eq!(null.write(&vec![0u8; size]).unwrap(), size);
        }
    }
    let outputs: Vec<String> = runs
        .into_iter()
        .map(|run| {
            run.signal(SIGINT);
            let (status, lines) = run.finish(Duration::from_secs(15));
            assert_eq!(status.code(), Some(0));
            lines.join("\n")
        })
        .collect();
    let (text, json) = (&outputs[0], &outputs[1]);
    assert!(text.contains("       512 -> 1023       : 20       |****************************************|"), "{text}");
    assert!(json.contains("\"total\":35}"), "{json}");
    assert_eq!(&outputs[2], text, "text from the C provider");
    assert_eq!(&outputs[3], json, "JSON from the C provider");
    assert_eq!(&outputs[4], text, "text from the Go provider");
    assert_eq!(&outputs[5], json, "JSON from the Go provider");
    assert_eq!(&outputs[6], text, "text from the C program");
    assert_eq!(&outputs[7], json, "JSON from the C program");
    assert_eq!(&outputs[8], text, "text from the Go program");
    assert_eq!(&outputs[9], json, "JSON from the Go program");
    before.assert_nothing_new_left();
}

#[test]
fn inspect_says_who_serves_each_import() {
    let program = guest("c-exectrace");
    let out = bpflet_to_end(&["inspect", program.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .map(str::split_whitespace)
            .map(|w| w.collect::<Vec<_>>())
    };
    assert_eq!(line("bpflet:ebpf/maps@0.2.0"), Some(vec!["bpflet:ebpf/maps@0.2.0", "host"]), "{}", out.stdout);
    assert_eq!(
        line("bpflet:ebpf/render@0.2.0"),
        Some(vec!["bpflet:ebpf/render@0.2.0", "plug-in", "built-in", "render", "(the", "built-in", "providers)"]),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("exports:\n  wasi:cli/run@0.2.12\n"), "{}", out.stdout);

    // JSON, and an import nobody serves.
    let dir = scratch("plugins-inspect");
    let wit = wit_copy(
        &dir,
        "0.2.0",
        "interface made-up { f: func(); }\nworld needs-made-up { include program; import made-up; }\n",
    );
    let needs = dummy(&wit, "needs-made-up", &dir.join("needs-made-up.wasm"));
    let out = bpflet_to_end(&["inspect", "--json", needs.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let imports = json["imports"].as_array().unwrap();
    let made_up = imports.iter().find(|i| i["name"] == "bpflet:ebpf/made-up@0.2.0").unwrap();
    assert_eq!(made_up["served_by"], serde_json::Value::Null);
    assert!(
        made_up["error"].as_str().unwrap().starts_with("no component provides bpflet:ebpf/made-up@0.2.0"),
        "{made_up}"
    );
    let maps = imports.iter().find(|i| i["name"] == "bpflet:ebpf/maps@0.2.0").unwrap();
    assert_eq!(maps["served_by"], "host");
}

/// A `--plug` for a program that imports no plug-in interface is a
/// mistake, said as such; a crafted plug-in (cut short here) is refused as
/// malformed before anything reads its structure.
#[test]
fn a_plug_the_program_does_not_need_and_a_malformed_plug_are_refused() {
    let dir = scratch("plugins-needless");
    let out = bpflet_to_end(&["plugins", "--write", dir.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let render = dir.join("render.wasm");
    let render_s = render.to_str().unwrap();
    let execsnoop = guest("rust-execsnoop");
    fails_with(
        &[],
        &["--plug", render_s, execsnoop.to_str().unwrap()],
        &format!("{render_s} (--plug) serves nothing the program needs: it exports bpflet:ebpf/render@0.2.0"),
    );

    let bytes = std::fs::read(&render).unwrap();
    let cut = dir.join("cut.wasm");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let cut_s = cut.to_str().unwrap();
    let _serial = serial();
    let before = KernelObjects::now();
    let out = bpflet_to_end(&["run", "--plug", cut_s, sizehist().to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("bpflet: error: {cut_s} is malformed: ")), "{}", out.stderr);
    before.assert_nothing_new_left();
}
