//! Programs through a real OCI registry (Debian's docker-registry, started
//! here on a free port): `bpflet push`, `skopeo inspect` of what arrived,
//! `bpflet run oci://...` for a component and for a kernel-only object,
//! registries that lie or serve hostile names, credentials scoped to their
//! registry,
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
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("bpflet-registry-{n}-{}", std::process::id()));
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
        wait_until_listening(&registry.address, "the registry");
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
    let (code, stdout, stderr) = bpflet_cmd(&[
        "push",
        path(&execsnoop),
        &component_ref,
        "--object",
        path(&conformance_object),
        "--declare-attach",
        "tracepoint:sched/sched_process_exec",
    ]);
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
    assert_eq!(manifest["annotations"]["dev.bpflet.allow-attach"], "tracepoint:sched/sched_process_exec");

    // Run from the registry: without --allow-declared, it may attach
    // nothing, and bpflet says what it declares.
    let oci = format!("oci://{component_ref}");
    let (code, stdout, stderr) = bpflet_cmd(&["run", &oci, "--", "--json", "--duration", "0"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("declares --allow-attach tracepoint:sched/sched_process_exec: not granted (--allow-declared"),
        "{stderr}"
    );
    assert!(stderr.contains("which this run does not allow"), "{stderr}");
    before.assert_nothing_new_left();
    // With it: it loads, attaches, reports, and leaves nothing.
    let (code, stdout, stderr) = bpflet_cmd(&["run", "--allow-declared", &oci, "--", "--json", "--duration", "0"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(r#"{"attached":true}"#), "{stdout}");
    assert!(stderr.contains("granted (--allow-declared)"), "{stderr}");
    before.assert_nothing_new_left();
    // A rule of the user's own does instead.
    let (code, stdout, stderr) =
        bpflet_cmd(&["run", "--allow-attach", "tracepoint:sched/*", &oci, "--", "--json", "--duration", "0"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
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
    let (code, stdout, stderr) = bpflet_cmd(&["push", path(&exectrace), &object_ref, "--declare-attach", "tracepoint"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let (code, stdout, stderr) = bpflet_cmd(&["run", &format!("oci://{object_ref}"), "--help"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("handle_exec") && stdout.contains("--target_ppid"), "{stdout}");
    let me = std::process::id().to_string();
    let mut run =
        spawn_with(&["--allow-declared"], Path::new(&format!("oci://{object_ref}")), &["--target-ppid", &me, "--json"]);
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

impl Registry {
    /// Uploads `bytes` as a blob of `repository`; returns its digest.
    fn blob(&self, repository: &str, bytes: &[u8]) -> String {
        use std::io::Write;
        let digest = format!("sha256:{}", sha256_hex(bytes));
        let file = std::env::temp_dir().join(format!("bpflet-blob-{}", std::process::id()));
        std::fs::File::create(&file).unwrap().write_all(bytes).unwrap();
        // Start an upload, then put the bytes where the registry says.
        let start = format!("http://{}/v2/{repository}/blobs/uploads/", self.address);
        let out = Command::new("curl").args(["-si", "-X", "POST", &start]).output().unwrap();
        let answer = String::from_utf8_lossy(&out.stdout).into_owned();
        let location = answer
            .lines()
            .find_map(|l| l.strip_prefix("Location: ").or_else(|| l.strip_prefix("location: ")))
            .unwrap_or_else(|| panic!("no upload location: {answer}"))
            .trim()
            .to_string();
        let location = if location.starts_with('/') { format!("http://{}{location}", self.address) } else { location };
        let separator = if location.contains('?') { '&' } else { '?' };
        let out = Command::new("curl")
            .args(["-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .arg(format!("{location}{separator}digest={digest}"))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(out.status.success(), "uploading a blob: {}", String::from_utf8_lossy(&out.stderr));
        digest
    }

    /// Puts `manifest` (OCI image manifest JSON) at `repository:tag`.
    fn manifest(&self, repository: &str, tag: &str, manifest: &serde_json::Value) {
        let url = format!("http://{}/v2/{repository}/manifests/{tag}", self.address);
        let out = Command::new("curl")
            .args([
                "-s",
                "-w",
                "%{http_code}",
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/vnd.oci.image.manifest.v1+json",
                "-d",
            ])
            .arg(manifest.to_string())
            .arg(&url)
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(answer.ends_with("201"), "putting a manifest: {answer}");
    }

    /// An artifact of BPF object layers, each (title, bytes), at
    /// `repository:tag`; returns the reference.
    fn objects(&self, repository: &str, tag: &str, layers: &[(&str, &[u8])]) -> String {
        let config = self.blob(repository, b"{}");
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|(title, bytes)| {
                serde_json::json!({
                    "mediaType": "application/vnd.bpflet.bpf-object.v1",
                    "digest": self.blob(repository, bytes),
                    "size": bytes.len(),
                    "annotations": { "org.opencontainers.image.title": title },
                })
            })
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": { "mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2 },
            "layers": layers,
        });
        self.manifest(repository, tag, &manifest);
        format!("localhost:{}/{repository}:{tag}", self.address.rsplit(':').next().unwrap())
    }
}

/// SHA-256 of `bytes`, in hex (sha256sum).
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

/// What a hostile registry serves: file names that are paths, two layers
/// of one name, a manifest that is not the digest asked for; and a
/// symbolic link planted where `pull` writes. Nothing is written outside
/// the output directory, nor through the link.
#[test]
fn hostile_registry_answers_are_refused() {
    let registry = Registry::start();
    let object = std::fs::read(object("exectrace")).unwrap();
    let out_dir = scratch("oci-hostile");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(out_dir.join("inner")).unwrap();
    let inner = out_dir.join("inner");

    // Titles that are paths or hidden files are written as object-N.bpf.o.
    let reference = registry.objects(
        "tools/paths",
        "1",
        &[("../escaped.bpf.o", &object), ("/tmp/absolute.bpf.o", &object), (".hidden", &object)],
    );
    let (code, stdout, stderr) = bpflet_cmd(&["pull", &reference, "-o", path(&inner)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let mut written: Vec<String> =
        std::fs::read_dir(&inner).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written, ["object-0.bpf.o", "object-1.bpf.o", "object-2.bpf.o"]);
    assert!(!out_dir.join("escaped.bpf.o").exists() && !Path::new("/tmp/absolute.bpf.o").exists());

    // Two layers of one name.
    let reference = registry.objects("tools/twins", "1", &[("x.bpf.o", &object), ("x.bpf.o", &object)]);
    let (code, _, stderr) = bpflet_cmd(&["pull", &reference, "-o", path(&inner)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("has two BPF objects named \"x.bpf.o\""), "{stderr}");

    // A symbolic link where a file would go: not written through.
    let target = out_dir.join("target-of-link");
    std::fs::write(&target, b"untouched").unwrap();
    let reference = registry.objects("tools/linked", "1", &[("linked.bpf.o", &object)]);
    std::os::unix::fs::symlink(&target, inner.join("linked.bpf.o")).unwrap();
    let (code, _, stderr) = bpflet_cmd(&["pull", &reference, "-o", path(&inner)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is a symbolic link; bpflet pull does not write through one"), "{stderr}");
    assert_eq!(std::fs::read(&target).unwrap(), b"untouched");

    // A reference by digest gets that manifest or nothing.
    let good = registry.objects("tools/pinned", "1", &[("pinned.bpf.o", &object)]);
    let out = Command::new("curl")
        .args(["-sfI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .arg(format!("http://{}/v2/tools/pinned/manifests/1", registry.address))
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let digest = headers.lines().find_map(|l| l.strip_prefix("docker-content-digest: ")).unwrap().trim().to_string();
    let by_digest = format!("{}@{digest}", good.rsplit_once(':').unwrap().0);
    let (code, _, stderr) = bpflet_cmd(&["run", &format!("oci://{by_digest}"), "--help"]);
    assert_eq!(code, Some(0), "{stderr}");
    let wrong = format!("{}@sha256:{}", good.rsplit_once(':').unwrap().0, "0".repeat(64));
    let (code, _, stderr) = bpflet_cmd(&["run", &format!("oci://{wrong}"), "--help"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("pulling"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// Waits (up to 20 s) until something listens on `address`.
fn wait_until_listening(address: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {address}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A registry played by a Python script on a free port of its own (the
/// script's first argument), stopped when dropped.
struct Scripted {
    child: Child,
    port: u16,
}

impl Scripted {
    fn start(script: &str, args: &[&str], what: &str) -> Scripted {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until_listening(&format!("127.0.0.1:{port}"), what);
        Scripted { child, port }
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry that asks for HTTP basic credentials and writes down the
/// `Authorization` header of every request to the file its second
/// argument names; it has no manifests.
const GATEKEEPER: &str = r#"
import http.server, sys
log = open(sys.argv[2], "a")
class Gate(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write((self.headers.get("Authorization") or "-") + "\n"); log.flush()
        if self.headers.get("Authorization") is None:
            self.send_response(401); self.send_header("WWW-Authenticate", 'Basic realm="gate"')
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0"); self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Gate).serve_forever()
"#;

/// Credentials go to the registry they are for, and only there: the
/// docker configuration's (`$DOCKER_CONFIG/config.json`) by registry;
/// `BPFLET_REGISTRY_USER` and `_PASSWORD` only where `BPFLET_REGISTRY`
/// names the registry (without it, to none, with a warning).
#[test]
fn registry_credentials_go_only_where_they_belong() {
    let log = scratch("oci-gate").join("authorization.log");
    let gate = Scripted::start(GATEKEEPER, &[path(&log)], "the gatekeeper");
    let registry = format!("localhost:{}", gate.port);
    let reference = format!("{registry}/tools/x:1");
    let docker = scratch("oci-docker-config");
    std::fs::create_dir_all(&docker).unwrap();
    let pull = |env: &[(&str, &str)]| -> (String, Vec<String>) {
        // Emptied, not removed: the server appends to the file it opened.
        std::fs::write(&log, "").unwrap();
        let out = Command::new(bpflet())
            .args(["pull", &reference, "-o", path(&scratch("oci-gate-out"))])
            .env_remove("BPFLET_REGISTRY")
            .env_remove("BPFLET_REGISTRY_USER")
            .env_remove("BPFLET_REGISTRY_PASSWORD")
            .env("DOCKER_CONFIG", &docker)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "the gate has no manifests");
        let sent = std::fs::read_to_string(&log).unwrap_or_default().lines().map(str::to_string).collect();
        (String::from_utf8_lossy(&out.stderr).into_owned(), sent)
    };
    // base64("u:p") is dTpw; base64("d:q") is ZDpx.
    let user = [("BPFLET_REGISTRY_USER", "u"), ("BPFLET_REGISTRY_PASSWORD", "p")];
    std::fs::write(docker.join("config.json"), r#"{"auths":{"elsewhere.example:5000":{"auth":"ZDpx"}}}"#).unwrap();
    let (stderr, sent) = pull(&user);
    assert!(stderr.contains("BPFLET_REGISTRY does not say for which registry: sending it to none"), "{stderr}");
    assert!(!sent.is_empty() && sent.iter().all(|h| h == "-"), "sent {sent:?}");
    let (_, sent) = pull(&[user[0], user[1], ("BPFLET_REGISTRY", "elsewhere.example:5000")]);
    assert!(!sent.is_empty() && sent.iter().all(|h| h == "-"), "sent {sent:?}");
    let (_, sent) = pull(&[user[0], user[1], ("BPFLET_REGISTRY", &registry)]);
    assert!(sent.contains(&"Basic dTpw".to_string()), "sent {sent:?}");
    // The docker configuration, for this registry.
    std::fs::write(docker.join("config.json"), format!(r#"{{"auths":{{"{registry}":{{"auth":"ZDpx"}}}}}}"#)).unwrap();
    let (_, sent) = pull(&[]);
    assert!(sent.contains(&"Basic ZDpx".to_string()), "sent {sent:?}");
}

/// A registry that lies (a Python server, stopped when dropped): tag
/// `huge` declares a layer of 300 MiB, `short` a layer shorter than what
/// it sends, `forged` a layer whose bytes are not its digest. Each pull is
/// refused before anything is run or written.
#[test]
fn lying_registries_are_refused() {
    let server = r#"
import hashlib, http.server, json, sys
blob = b"\x7fELF" + b"\0" * 1000
good = "sha256:" + hashlib.sha256(blob).hexdigest()
forged = "sha256:" + hashlib.sha256(b"something else").hexdigest()
empty = "sha256:" + hashlib.sha256(b"{}").hexdigest()
layers = {"huge": (good, 300 << 20), "short": (good, 10), "forged": (forged, len(blob))}
class Liar(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body, kind):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_GET(self):
        parts = self.path.split("/")
        if self.path == "/v2/":
            return self.answer(200, b"{}", "application/json")
        if "manifests" in parts:
            digest, size = layers.get(parts[-1], (good, len(blob)))
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
                "layers": [{"mediaType": "application/vnd.bpflet.bpf-object.v1", "digest": digest, "size": size,
                    "annotations": {"org.opencontainers.image.title": "x.bpf.o"}}]}
            return self.answer(200, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        if "blobs" in parts:
            return self.answer(200, b"{}" if parts[-1] == empty else blob, "application/octet-stream")
        self.answer(404, b"", "text/plain")
    do_HEAD = do_GET
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Liar).serve_forever()
"#;
    let liar = Scripted::start(server, &[], "the lying registry");
    let port = liar.port;
    let out_dir = scratch("oci-liar");
    for (tag, expected) in [
        ("huge", "layer 0 is 314572800 bytes, more than the 256 MiB a program may have"),
        ("short", "the registry sent more than the 10 bytes its manifest declares for the layer"),
        ("forged", "Invalid digest. Expected sha256:f41f3fa6"),
    ] {
        let reference = format!("localhost:{port}/tools/x:{tag}");
        let (code, _, stderr) = bpflet_cmd(&["pull", &reference, "-o", path(&out_dir)]);
        assert_eq!(code, Some(1), "{tag}: {stderr}");
        assert!(stderr.contains(expected), "{tag}: expected {expected:?} in {stderr}");
        let (code, _, stderr) = bpflet_cmd(&["run", &format!("oci://{reference}")]);
        assert_eq!(code, Some(1), "{tag}: {stderr}");
        assert!(stderr.contains(expected), "{tag}: expected {expected:?} in {stderr}");
    }
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0, "nothing written");
    // The honest tag pulls.
    let (code, _, stderr) = bpflet_cmd(&["pull", &format!("localhost:{port}/tools/x:honest"), "-o", path(&out_dir)]);
    assert_eq!(code, Some(0), "{stderr}");
}
