//! libbpf's log, whose program and section names come from the object:
//! the tail bpflet shows of the verifier's verdict.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let log = String::from_utf8_lossy(data);
    let lines = data.first().copied().unwrap_or(3) as usize;
    let _ = bpflet_runtime::kernel::verifier_log_tail(&log, lines);
});
