//! What bpflet needs from the kernel beyond libbpf: a mounted tracefs,
//! libbpf's log (the verifier's words, captured per thread), and CPU counts.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use libbpf_rs::PrintLevel;

use crate::{sys, Error};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Makes sure tracefs is mounted, since tracepoint attach reads event ids
/// from it and fails with a bare ENOENT otherwise. Mounts it at
/// /sys/kernel/tracing when neither usual place has it.
pub fn ensure_tracefs() -> Result<(), Error> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = lock(&DONE);
    if *done {
        return Ok(());
    }
    if Path::new(TRACEFS).join("events").is_dir() || Path::new(DEBUGFS_TRACING).join("events").is_dir() {
        *done = true;
        return Ok(());
    }
    sys::mount_tracefs(TRACEFS).map_err(|err| {
        Error::unsupported(format!(
            "tracefs is not mounted and mounting it failed ({err}); run `mount -t tracefs tracefs {TRACEFS}` as root"
        ))
    })?;
    *done = true;
    Ok(())
}

/// A lock that a panic elsewhere does not poison for good: the data
/// guarded here (a flag, a log) stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Number of possible CPUs: the number of values a per-CPU map holds per key.
pub fn possible_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| libbpf_rs::num_possible_cpus().unwrap_or(1).max(1))
}

/// The online CPUs, from /sys/devices/system/cpu/online (CPU 0 when it
/// cannot be read).
pub fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_else(|_| "0".into());
    cpu_list(&text)
}

/// A kernel CPU list: "0-3,5,7-8".
fn cpu_list(text: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let mut ends = part.splitn(2, '-').filter_map(|n| n.parse::<u32>().ok());
        if let Some(first) = ends.next() {
            // A list of thousands of CPUs is fine; a hostile one is bounded.
            cpus.extend((first..=ends.next().unwrap_or(first)).take(1 << 16));
        }
    }
    cpus
}

static VERBOSE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// What libbpf printed on this thread while `with_libbpf_log` ran:
    /// libbpf prints on the calling thread, so stores that load objects at
    /// once on different threads keep their logs apart.
    static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn on_libbpf_print(level: PrintLevel, msg: String) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprint!("libbpf: {msg}");
    }
    // The verifier log comes at warning level; debug chatter is not kept.
    if matches!(level, PrintLevel::Debug) {
        return;
    }
    CAPTURE.with_borrow_mut(|capture| {
        let Some(capture) = capture else { return };
        // Bounded: a verifier log can be megabytes; only its tail matters.
        if capture.len() > 1 << 20 {
            let cut = capture.len() - (1 << 19);
            let cut = (cut..capture.len()).find(|i| capture.is_char_boundary(*i)).unwrap_or(0);
            capture.drain(..cut);
        }
        capture.push_str(&msg);
    });
}

/// Routes libbpf's messages through bpflet, once per process (libbpf has
/// one print callback for the whole process).
fn route_libbpf_log() {
    static ROUTED: Once = Once::new();
    ROUTED.call_once(|| {
        libbpf_rs::set_print(Some((PrintLevel::Debug, on_libbpf_print)));
    });
}

/// Echoes libbpf's log (debug level included) to stderr, for every store
/// of the process.
pub fn echo_libbpf_log(echo: bool) {
    route_libbpf_log();
    VERBOSE.store(echo, Ordering::Relaxed);
}

/// Runs `f` and returns what libbpf printed meanwhile on this thread.
pub fn with_libbpf_log<R>(f: impl FnOnce() -> R) -> (R, String) {
    route_libbpf_log();
    CAPTURE.with_borrow_mut(|capture| *capture = Some(String::new()));
    let result = f();
    let log = CAPTURE.with_borrow_mut(Option::take).unwrap_or_default();
    (result, log)
}

/// The verifier's own words from a captured libbpf log: the lines between
/// libbpf's load-log markers, last `max_lines` of them; the whole log's tail
/// when there are no markers.
pub fn verifier_log_tail(log: &str, max_lines: usize) -> String {
    // Program names, which an object chooses, are in the log too: the
    // markers may sit anywhere, so nothing here may slice blindly.
    let marked = match (log.find("-- BEGIN PROG LOAD LOG --"), log.rfind("-- END PROG LOAD LOG --")) {
        (Some(start), Some(end)) => {
            let start = start + log[start..].find('\n').map_or(0, |n| n + 1);
            log.get(start..end)
        }
        _ => None,
    };
    let body = marked.unwrap_or(log);
    let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_tail_takes_the_marked_block() {
        let log = "libbpf: prog 'bad': BPF program load failed: Permission denied\n\
                   libbpf: prog 'bad': -- BEGIN PROG LOAD LOG --\n\
                   0: (b7) r1 = 0\n1: (61) r0 = *(u32 *)(r1 +0)\nR1 invalid mem access 'scalar'\n\
                   processed 2 insns\n-- END PROG LOAD LOG --\nlibbpf: failed to load object\n";
        assert_eq!(verifier_log_tail(log, 2), "R1 invalid mem access 'scalar'\nprocessed 2 insns");
        assert!(verifier_log_tail(log, 10).starts_with("0: (b7) r1 = 0"));
    }

    #[test]
    fn cpu_lists_expand() {
        assert_eq!(cpu_list("0-3,5,7-8\n"), vec![0, 1, 2, 3, 5, 7, 8]);
        assert_eq!(cpu_list("0"), vec![0]);
    }

    #[test]
    fn markers_out_of_order_take_the_whole_log() {
        let log = "prog '-- END PROG LOAD LOG -- -- BEGIN PROG LOAD LOG --': x\nlast\n";
        assert_eq!(verifier_log_tail(log, 1), "last");
    }

    #[test]
    fn verifier_tail_without_markers_is_the_log_tail() {
        assert_eq!(verifier_log_tail("a\nb\n\nc\n", 2), "b\nc");
    }
}
