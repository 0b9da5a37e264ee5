//! Programs through a real OCI registry (Debian's docker-registry, started
//! here on a free port): `bpflet push`, `skopeo inspect` of what arrived,
//! `bpflet run oci://...` for a component and for a kernel-only object,
//! `bpflet pull` byte for byte, and the errors of a missing tag, a
//! registry that is not there and a file that is no program.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A registry serving from a temporary directory, stopped when dropped.
struct Registry {
    child: Child,
    dir: PathBuf,
    address: String,
}

impl Registry {
    fn start() -> Registry {
        let binary = ["/usr/bin/docker-registry", "/usr/bin/registry"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("docker-registry is not installed: run `make setup` (apt-get install docker-registry)");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let dir = std::env::temp_dir().join(format!("bpflet-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child =
            Command::new(binary).arg("serve").arg(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let registry = Registry { child, dir, address };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.address).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start on {}", registry.address);
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `localhost:PORT/tools/NAME:TAG` (localhost: bpflet speaks plain
    /// HTTP to a registry on this machine).
    fn reference(&self, name: &str) -> String {
        format!("localhost:{}/tools/{name}", self.address.rsplit(':').next().unwrap())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bpflet_cmd(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bpflet_to_end(args);
    (out.code, out.stdout, out.stderr)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn programs_go_through_a_registry_and_run_from_it() {
    let _serial = serial();
    let before = KernelObjects::now();
    let registry = Registry::start();
    let execsnoop = guest("rust-execsnoop");
    let exectrace = object("exectrace");
    let conformance_object = object("conformance");

    // A component, with a BPF object for open-packaged.
    let component_ref = format!("{}:1.0", registry.reference("execsnoop"));
    let (code, stdout, stderr) =
        bpflet_cmd(&["push", path(&execsnoop), &component_ref, "--object", path(&conformance_object)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("pushed"), "{stdout}");

    // What arrived is a standard Wasm OCI artifact, as another tool sees it.
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", &format!("docker://{component_ref}")])
        .output()
        .expect("skopeo is not installed: run `make setup`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.wasm.config.v0+json", "{manifest}");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm", "{manifest}");
    assert_eq!(manifest["layers"][0]["size"], std::fs::metadata(&execsnoop).unwrap().len(), "{manifest}");
    assert_eq!(manifest["layers"][1]["mediaType"], "application/vnd.bpflet.bpf-object.v1", "{manifest}");
    assert_eq!(manifest["layers"][1]["annotations"]["org.opencontainers.image.title"], "conformance.bpf.o");

    // Run from the registry: it loads, attaches, reports, and leaves nothing.
    let oci = format!("oci://{component_ref}");
    let (code, stdout, stderr) = bpflet_cmd(&["run", &oci, "--", "--json", "--duration", "0"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(r#"{"attached":true}"#), "{stdout}");
    before.assert_nothing_new_left();

    // Pull: the same bytes, under their names.
    let out_dir = std::env::temp_dir().join(format!("bpflet-pulled-{}", std::process::id()));
    let (code, stdout, stderr) = bpflet_cmd(&["pull", &component_ref, "-o", path(&out_dir)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(std::fs::read(out_dir.join("execsnoop.wasm")).unwrap(), std::fs::read(&execsnoop).unwrap());
    assert_eq!(std::fs::read(out_dir.join("conformance.bpf.o")).unwrap(), std::fs::read(&conformance_object).unwrap());
    let _ = std::fs::remove_dir_all(&out_dir);

    // A kernel-only program: a bare object, run by the built-in runner.
    let object_ref = format!("{}:1.0", registry.reference("exectrace"));
    let (code, stdout, stderr) = bpflet_cmd(&["push", path(&exectrace), &object_ref]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, stdout, stderr) = bpflet_cmd(&["run", &format!("oci://{object_ref}"), "--help"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("handle_exec") && stdout.contains("--target_ppid"), "{stdout}");
    let me = std::process::id().to_string();
    let mut run = spawn_with(&[], Path::new(&format!("oci://{object_ref}")), &["--target-ppid", &me, "--json"]);
    run.wait_for_stderr(Duration::from_secs(60), |l| l.contains("attached; Ctrl-C to stop"));
    let pid = Marker::new("oci-marker").exec();
    run.wait_for(Duration::from_secs(20), |l| l.contains(&format!("\"pid\":{pid},")));
    run.signal(SIGINT);
    let (status, _, _) = run.finish_all(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    before.assert_nothing_new_left();
}

/// `push --compose`: what arrives is the program with its plug-ins, for
/// hosts that cannot assemble: nothing left to plug in.
#[test]
fn push_compose_pushes_the_assembled_program() {
    let registry = Registry::start();
    let program = guest("c-exectrace");
    let reference = format!("{}:1.0", registry.reference("exectrace-composed"));
    let (code, stdout, stderr) = bpflet_cmd(&["push", "--compose", path(&program), &reference]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(stderr, "bpflet: bpflet:ebpf/render@0.2.0 from built-in render\n");
    let out_dir = scratch("oci-composed");
    let (code, stdout, stderr) = bpflet_cmd(&["pull", &reference, "-o", path(&out_dir)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let pulled = out_dir.join("exectrace-composed.wasm");
    let (code, stdout, stderr) = bpflet_cmd(&["inspect", "--json", path(&pulled)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let inspected: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let imports = inspected["imports"].as_array().unwrap();
    assert!(imports.iter().all(|i| i["served_by"] == "host"), "{inspected}");
    assert!(!imports.iter().any(|i| i["name"].as_str().unwrap().contains("render")), "{inspected}");
    // The program as it was imports render: the push changed it.
    let (_, stdout, _) = bpflet_cmd(&["inspect", "--json", path(&program)]);
    assert!(stdout.contains("bpflet:ebpf/render@0.2.0"), "{stdout}");
}

#[test]
fn registry_errors_are_clear() {
    let registry = Registry::start();
    // A tag that is not there.
    let missing = format!("oci://{}:9.9", registry.reference("missing"));
    let (code, _, stderr) = bpflet_cmd(&["run", &missing]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("pulling") && stderr.contains("manifest unknown"), "{stderr}");
    // A registry that is not there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (code, _, stderr) = bpflet_cmd(&["run", &format!("oci://localhost:{port}/tools/x:1")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    // Not a program, and not a reference.
    let (code, _, stderr) = bpflet_cmd(&["push", path(&repo_root().join("README.md")), &registry.reference("readme")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("not a WebAssembly component"), "{stderr}");
    let (code, _, stderr) = bpflet_cmd(&["push", path(&guest("rust-execsnoop")), "Not A Reference"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not an OCI reference"), "{stderr}");
}
