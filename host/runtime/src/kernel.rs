//! What bpflet needs from the kernel beyond libbpf: tracefs (mounted, or
//! one of its own mounted nowhere),
//! libbpf's log (the verifier's words, captured per thread), and CPU counts.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use std::ffi::{c_char, c_int, c_void};

use crate::{sys, Error};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// Where tracepoint event ids come from.
pub enum Tracefs {
    /// tracefs is mounted where libbpf looks: libbpf attaches.
    Mounted,
    /// It is not: bpflet reads ids from a tracefs of its own that is
    /// mounted nowhere, and attaches itself (it mounts nothing on the
    /// machine, so nothing stays).
    Detached(std::os::fd::OwnedFd),
}

/// The tracefs for tracepoint attach, looked for once.
pub fn tracefs() -> Result<&'static Tracefs, Error> {
    static TRACEFS_FOUND: std::sync::OnceLock<Tracefs> = std::sync::OnceLock::new();
    if let Some(found) = TRACEFS_FOUND.get() {
        return Ok(found);
    }
    let found = if Path::new(TRACEFS).join("events").is_dir() || Path::new(DEBUGFS_TRACING).join("events").is_dir() {
        Tracefs::Mounted
    } else {
        Tracefs::Detached(sys::detached_tracefs().map_err(|err| {
            Error::unsupported(format!(
                "tracefs is not mounted and bpflet could not open one of its own ({err}); run \
                 `mount -t tracefs tracefs {TRACEFS}` as root"
            ))
        })?)
    };
    Ok(TRACEFS_FOUND.get_or_init(|| found))
}

impl Tracefs {
    /// The event id of tracepoint `category/name`, from a detached tracefs.
    pub fn event_id(&self, category: &str, name: &str) -> Result<Option<u64>, Error> {
        use std::os::fd::AsRawFd;
        let Tracefs::Detached(fd) = self else {
            return Ok(None);
        };
        if [category, name].iter().any(|part| part.is_empty() || part.contains('/') || part.starts_with('.')) {
            return Err(Error::invalid_argument(format!("{category}/{name} is not a tracepoint name")));
        }
        let path = format!("/proc/self/fd/{}/events/{category}/{name}/id", fd.as_raw_fd());
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::not_found(format!("tracepoint {category}/{name} does not exist")),
            _ => Error::from(e).context(format!("reading the id of tracepoint {category}/{name}")),
        })?;
        let id = text
            .trim()
            .parse()
            .map_err(|_| Error::invalid_state(format!("tracepoint {category}/{name} has no numeric id: {text:?}")))?;
        Ok(Some(id))
    }
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

fn on_libbpf_print(debug: bool, msg: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprint!("libbpf: {msg}");
    }
    // The verifier log comes at warning level; debug chatter is not kept.
    if debug {
        return;
    }
    CAPTURE.with(|capture| {
        let Ok(mut capture) = capture.try_borrow_mut() else { return };
        let Some(capture) = capture.as_mut() else { return };
        // Bounded: a verifier log can be megabytes; only its tail matters.
        if capture.len() > 1 << 20 {
            let cut = capture.len() - (1 << 19);
            let cut = (cut..capture.len()).find(|i| capture.is_char_boundary(*i)).unwrap_or(0);
            capture.drain(..cut);
        }
        capture.push_str(msg);
    });
}

unsafe extern "C" {
    /// C's `vasprintf` (glibc, musl): formats into memory it allocates with
    /// `malloc`, so one pass over the `va_list` is enough.
    fn vasprintf(out: *mut *mut c_char, format: *const c_char, args: *mut c_void) -> c_int;
}

/// libbpf's print callback. libbpf-rs's own callback panics, which aborts
/// the process, on a message that is not UTF-8, and libbpf prints names
/// from the object (sections, maps, programs): a crafted object could
/// kill bpflet. This one formats with C's `vasprintf`, reads the text as
/// lossy UTF-8 and never unwinds into C.
///
/// `args` is the caller's `va_list`, a pointer on every ABI libbpf-sys
/// supports (as libbpf-rs also takes it).
unsafe extern "C" fn print_libbpf(
    level: libbpf_sys::libbpf_print_level,
    format: *const c_char,
    args: *mut c_void,
) -> c_int {
    let mut text: *mut c_char = std::ptr::null_mut();
    // SAFETY: `format` and `args` are libbpf's, for exactly this call.
    let len = unsafe { vasprintf(&mut text, format, args) };
    if len < 0 || text.is_null() {
        return 0;
    }
    // SAFETY: vasprintf wrote `len` bytes at `text`, which it allocated.
    let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len as usize) };
    let message = String::from_utf8_lossy(bytes);
    let _ = std::panic::catch_unwind(|| on_libbpf_print(level == libbpf_sys::LIBBPF_DEBUG, &message));
    drop(message);
    // SAFETY: allocated by vasprintf with malloc, and no longer borrowed.
    unsafe { libc::free(text.cast()) };
    0
}

/// Routes libbpf's messages through bpflet, once per process (libbpf has
/// one print callback for the whole process).
fn route_libbpf_log() {
    static ROUTED: Once = Once::new();
    ROUTED.call_once(|| {
        type Print = unsafe extern "C" fn(libbpf_sys::libbpf_print_level, *const c_char, *mut c_void) -> c_int;
        let print: Print = print_libbpf;
        // SAFETY: the same function type but for `va_list`, which is a
        // pointer as passed (see print_libbpf).
        unsafe { libbpf_sys::libbpf_set_print(std::mem::transmute::<Print, libbpf_sys::libbpf_print_fn_t>(print)) };
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
