//! Child processes (the native half, `bpflet run`): their stdout (or
//! stderr) line by line, and their peak RSS from wait4's rusage.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub struct Child {
    child: std::process::Child,
    what: String,
    lines: Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// When `spawn` was called: "process start" for start-up times.
    pub started: Instant,
}

/// How a child ended.
pub struct Exit {
    /// Peak resident set size, KiB (ru_maxrss).
    pub max_rss_kib: u64,
}

/// Starts `command`; its stdout lines are the ones [`Child::line`] reads.
pub fn spawn(command: Command) -> Result<Child> {
    spawn_reading(command, false)
}

/// Starts `command` with its stdout sent to /dev/null; its stderr lines
/// are the ones [`Child::line`] reads (and what an error shows).
pub fn spawn_quiet(command: Command) -> Result<Child> {
    spawn_reading(command, true)
}

fn spawn_reading(mut command: Command, from_stderr: bool) -> Result<Child> {
    let what = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(if from_stderr { Stdio::null() } else { Stdio::piped() })
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let (tx, lines) = channel();
    let mut stderr = child.stderr.take().expect("piped");
    let stderr = if from_stderr {
        // Every line goes to the reader, and into the text an error shows.
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
                let _ = tx.send(line);
            }
            text
        })
    } else {
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
    };
    Ok(Child { child, what, lines, stderr: Some(stderr), started })
}

impl Child {
    /// The next stdout line, waiting up to `timeout`.
    pub fn line(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                let stderr = self.stderr_text();
                bail!("{} printed nothing for {timeout:?}{stderr}", self.what)
            }
            Err(RecvTimeoutError::Disconnected) => {
                let stderr = self.stderr_text();
                bail!("{} exited early{stderr}", self.what)
            }
        }
    }

    /// The next stdout line that `pred` accepts; other lines are skipped.
    pub fn line_where(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let line = self.line(deadline.saturating_duration_since(Instant::now()))?;
            if pred(&line) {
                return Ok(line);
            }
        }
    }

    fn stderr_text(&mut self) -> String {
        // The child is gone or killed, so its stderr reaches EOF.
        let _ = self.child.wait();
        match self.stderr.take().map(|h| h.join()) {
            Some(Ok(text)) if !text.trim().is_empty() => format!("; stderr:\n{}", text.trim_end()),
            _ => String::new(),
        }
    }

    /// Waits for exit; fails unless it exits 0.
    pub fn finish(mut self) -> Result<Exit> {
        let mut status = 0;
        // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain wait4 on our own, not yet reaped, child.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc != pid {
            bail!("wait4 on {}: {}", self.what, std::io::Error::last_os_error());
        }
        let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        if code != 0 {
            bail!("{} exited with {code}; stderr:\n{}", self.what, stderr.trim_end());
        }
        Ok(Exit { max_rss_kib: usage.ru_maxrss as u64 })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // A child left behind by an error must not keep BPF programs loaded.
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
