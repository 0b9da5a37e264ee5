//! syscount end to end, for the guest in every language: the counts for the test's own process move by at
//! least the number of syscalls the test makes between two reports.

mod common;

use std::time::Duration;

use common::*;

/// The count syscount reports for `pid` in the report ending at the next
/// blank line (0 when the pid is absent from it).
fn next_report_count(run: &mut Running, pid: u32) -> u64 {
    let stamp = run.wait_for(Duration::from_secs(20), |l| l.starts_with('['));
    let bytes = stamp.as_bytes();
    assert!(stamp.len() == 10 && bytes[3] == b':' && bytes[6] == b':' && stamp.ends_with(']'), "time stamp {stamp:?}");
    let header = run.wait_for(Duration::from_secs(5), |_| true);
    assert_eq!(header, "PID      COMM             COUNT");
    let mut count = 0;
    loop {
        let line = run.wait_for(Duration::from_secs(20), |_| true);
        if line.trim().is_empty() {
            return count;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        // One layout for every language (comm may hold no spaces here).
        assert_eq!(fields.len(), 3, "row {line:?}");
        assert_eq!(line, format!("{:<8} {:<16} {}", fields[0], fields[1], fields[2]), "row layout");
        if fields.first().and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            count = fields.last().unwrap().parse().unwrap();
        }
    }
}

#[test]
fn counts_move_with_the_syscalls_the_test_makes() {
    for_each_language(counts_move_in);
}

fn counts_move_in(lang: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id();
    let me_arg = me.to_string();
    let mut run = spawn(&guest(&format!("{lang}-syscount")), &["--pid", &me_arg, "--interval", "1", "--duration", "6"]);
    run.wait_for(Duration::from_secs(60), |l| l.starts_with("Tracing syscalls"));

    let first = next_report_count(&mut run, me);
    const CALLS: u64 = 20_000;
    for _ in 0..CALLS {
        getppid();
    }
    // The report after next surely covers all of them.
    next_report_count(&mut run, me);
    let later = next_report_count(&mut run, me);
    assert!(later >= first + CALLS, "count went from {first} to {later} after {CALLS} syscalls");

    let (status, _) = run.finish(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    before.assert_nothing_new_left();
}
