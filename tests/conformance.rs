//! The conformance guest calls every function of the bpflet WIT, error
//! cases included, against the real kernel; the test triggers its program
//! and checks the guest's verdicts.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

#[test]
fn every_wit_function_answers_as_specified() {
    let _serial = serial();
    let before = KernelObjects::now();

    // The guest's BPF program fires on getppid() of the pid it is given:
    // this process, calling it in the background.
    let stop = Arc::new(AtomicBool::new(false));
    let trigger = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                getppid();
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let me = std::process::id().to_string();
    let run = spawn(&guest("rust-conformance"), &["--trigger-pid", &me]);
    let (status, lines) = run.finish(Duration::from_secs(120));
    stop.store(true, Ordering::Relaxed);
    trigger.join().unwrap();
    let output = lines.join("\n");

    let failures: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failures.is_empty(), "failed checks:\n{failures:#?}\n\nall output:\n{output}");
    let summary = lines.iter().find(|l| l.starts_with("conformance:")).unwrap_or_else(|| panic!("no summary:\n{output}"));
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    assert!(status.success(), "guest exit {status}\n{output}");

    // Each error case of the WIT was met and reported as that case.
    for case in ["not-found", "invalid-argument", "already-exists", "invalid-state", "load-failed"] {
        assert!(
            lines.iter().any(|l| l.starts_with("ok ") && l.contains(&format!("error {case}:"))),
            "no check saw error {case}:\n{output}"
        );
    }
    // Per-CPU values come back one per possible CPU.
    let cpus = possible_cpus();
    let expected = format!("{cpus} values for {cpus} cpus");
    assert!(lines.iter().any(|l| l.contains("percpu") && l.contains(&expected)), "no per-CPU check with {expected:?}:\n{output}");
    // The verifier's reason reaches the guest.
    let rejected = lines.iter().find(|l| l.contains("error load-failed:")).unwrap();
    assert!(rejected.len() > "error load-failed:".len() + 10, "empty verifier message: {rejected}");

    before.assert_nothing_new_left();
}
