//! Shared helpers of the end-to-end tests: run the real `bpflet` binary on
//! a real component, read its output line by line, and check that nothing
//! it loaded is left in the kernel afterwards.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The clone the tests run in: the CLI crate is host/cli.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

pub fn bpflet() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bpflet"))
}

/// A guest component built by `make guests`.
pub fn guest(name: &str) -> PathBuf {
    let path = repo_root().join("target/guests").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} is missing: run `make guests` first", path.display());
    path
}

/// A directory of this test process's own under the system's temp dir.
/// The first call removes those of test processes that are gone (the
/// `-PID` ending names their process), so runs do not pile them up.
pub fn scratch(name: &str) -> PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().filter(|n| n.starts_with("bpflet-")) else { continue };
            let Some(pid) = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
    let dir = std::env::temp_dir().join(format!("bpflet-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A BPF object built by `make bpf` (target/bpf/NAME.bpf.o).
pub fn object(name: &str) -> PathBuf {
    let path = repo_root().join("target/bpf").join(format!("{name}.bpf.o"));
    assert!(path.exists(), "{} is missing: run `make bpf` first", path.display());
    path
}

/// A copy of /bin/true under a name no other process on the box uses, to
/// exec and then find in what a tracer reports.
pub struct Marker {
    pub path: PathBuf,
}

impl Marker {
    pub fn new(name: &str) -> Marker {
        let path = scratch("markers").join(name);
        if !path.exists() {
            std::fs::copy("/bin/true", &path).unwrap();
        }
        Marker { path }
    }

    /// Runs the marker as a child of this process; returns its pid.
    pub fn exec(&self) -> u32 {
        let mut child = Command::new(&self.path).spawn().unwrap();
        let pid = child.id();
        assert!(child.wait().unwrap().success());
        pid
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// What a `bpflet` command printed when it ran to its end.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `bpflet ARGS` to its end. bpflet itself must never panic,
/// whatever it is given.
pub fn bpflet_to_end<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Finished {
    bpflet_to_end_with(&[], args)
}

/// [`bpflet_to_end`] with extra environment variables.
pub fn bpflet_to_end_with<S: AsRef<std::ffi::OsStr>>(env: &[(&str, &Path)], args: &[S]) -> Finished {
    let out = Command::new(bpflet()).args(args).envs(env.iter().copied()).output().unwrap();
    let finished = Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!finished.stderr.contains("panicked"), "bpflet panicked: {}", finished.stderr);
    finished
}

/// The number after `name=` in a line of `key=value` fields.
pub fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        .parse()
        .unwrap()
}

/// The tests share one kernel; one at a time keeps the leak check exact.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a run could leave behind: the ids of the BPF programs, maps and
/// links loaded right now, what is pinned under /sys/fs/bpf (if bpffs is
/// mounted there) and the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelObjects {
    pub progs: BTreeSet<u64>,
    pub maps: BTreeSet<u64>,
    pub links: BTreeSet<u64>,
    pub pins: BTreeSet<PathBuf>,
    pub mounts: BTreeSet<String>,
}

fn bpftool_ids(kind: &str) -> BTreeSet<u64> {
    let out = Command::new("bpftool").args(["-j", kind, "list"]).output().expect("bpftool runs");
    assert!(out.status.success(), "bpftool {kind} list failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool prints JSON");
    json.as_array().expect("a JSON array").iter().filter_map(|o| o["id"].as_u64()).collect()
}

/// Every path under `dir`, recursively (none if it cannot be read).
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(files_under(&path));
        }
        found.insert(path);
    }
    found
}

/// The mount table as (mount point, file system type) lines.
fn mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("/proc/self/mountinfo")
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let fs = line.split(" - ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or("");
            format!("{} {fs}", fields.get(4).copied().unwrap_or(""))
        })
        .collect()
}

impl KernelObjects {
    pub fn now() -> Self {
        KernelObjects {
            progs: bpftool_ids("prog"),
            maps: bpftool_ids("map"),
            links: bpftool_ids("link"),
            pins: files_under(Path::new("/sys/fs/bpf")),
            mounts: mounts(),
        }
    }

    /// Fails unless every program, map, link, pin and mount that appeared
    /// since `self` is gone again. The kernel frees BPF objects shortly
    /// after the last fd closes, so allow a moment.
    pub fn assert_nothing_new_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let now = KernelObjects::now();
            let progs: Vec<_> = now.progs.difference(&self.progs).collect();
            let maps: Vec<_> = now.maps.difference(&self.maps).collect();
            let links: Vec<_> = now.links.difference(&self.links).collect();
            let pins: Vec<_> = now.pins.difference(&self.pins).collect();
            let mounts: Vec<_> = now.mounts.difference(&self.mounts).collect();
            if progs.is_empty() && maps.is_empty() && links.is_empty() && pins.is_empty() && mounts.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "bpflet left things behind: programs {progs:?}, maps {maps:?}, links {links:?}, pins \
                     {pins:?}, mounts {mounts:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A running `bpflet run`, its stdout read line by line.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line seen so far, for failure messages.
    pub seen: Vec<String>,
    stderr: Receiver<String>,
    /// Every stderr line seen so far.
    pub seen_stderr: Vec<String>,
}

pub fn spawn(component: &Path, args: &[&str]) -> Running {
    spawn_with(&[], component, args)
}

/// `bpflet run OPTIONS COMPONENT -- ARGS`.
pub fn spawn_with(options: &[&str], component: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(bpflet())
        .arg("run")
        .args(options)
        .arg(component)
        .arg("--")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bpflet starts");
    let (tx, lines) = channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // stderr is collected, not echoed: echoing from this thread would make
    // write(2) calls that tests counting this process's syscalls would see.
    let (etx, stderr) = channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = etx.send(line);
        }
    });
    Running { child, lines, seen: Vec::new(), stderr, seen_stderr: Vec::new() }
}

impl Running {
    /// The next line matching `pred`, waiting up to `timeout`.
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no matching line within {timeout:?}; {}", self.outputs())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    panic!("bpflet exited ({status}) before a matching line; {}", self.outputs())
                }
            }
        }
    }

    /// The next stderr line matching `pred`, waiting up to `timeout`.
    pub fn wait_for_stderr(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            match self.stderr.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    self.seen_stderr.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no matching stderr line within {timeout:?}; {}", self.outputs()),
            }
        }
    }

    /// stdout and stderr so far, for failure messages.
    pub fn outputs(&mut self) -> String {
        self.seen_stderr.extend(self.stderr.try_iter());
        format!("stdout:\n{}\nstderr:\n{}", self.seen.join("\n"), self.seen_stderr.join("\n"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: i32) {
        kill(self.child.id(), signal);
    }

    /// Waits for exit (killing after `timeout`) and returns the status with
    /// the rest of stdout.
    pub fn finish(self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let (status, stdout, _) = self.finish_all(timeout);
        (status, stdout)
    }

    /// Like `finish`, with stderr as well.
    pub fn finish_all(mut self, timeout: Duration) -> (ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("bpflet did not exit within {timeout:?}; {}", self.outputs());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader threads end at EOF.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
            self.seen_stderr.push(line);
        }
        (status, self.seen, self.seen_stderr)
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

/// Sends `signal` to the process `pid` (a child of the test's).
pub fn kill(pid: u32, signal: i32) {
    // SAFETY: plain kill(2).
    unsafe { libc_kill(pid as i32, signal) };
}

/// getppid(2) straight to the kernel, for programs that trigger on it.
pub fn getppid() {
    extern "C" {
        fn getppid() -> i32;
    }
    // SAFETY: getppid has no preconditions.
    unsafe { getppid() };
}

/// Number of possible CPUs, as per-CPU maps count them.
pub fn possible_cpus() -> usize {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap();
    text.trim()
        .split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// The guest languages whose examples every example test runs
/// (`BPFLET_TEST_LANGS=rust,c` picks others while developing; CI runs the
/// default, every language `make guests` builds).
pub fn languages() -> Vec<String> {
    match std::env::var("BPFLET_TEST_LANGS") {
        Ok(list) if !list.trim().is_empty() => list.split(',').map(|s| s.trim().to_string()).collect(),
        _ => ["rust", "c", "go"].map(String::from).to_vec(),
    }
}

/// Runs `check` for every language, then fails naming each language that
/// failed, so one broken guest does not hide the others.
pub fn for_each_language(check: impl Fn(&str)) {
    let mut failed = Vec::new();
    for lang in languages() {
        eprintln!("--- {lang}");
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&lang))).is_err() {
            failed.push(lang);
        }
    }
    assert!(failed.is_empty(), "failed for: {failed:?}");
}
