//! execsnoop end to end, for the guest in every language: the test execs a
//! binary of its own and checks that the guest reports that very process
//! (pid, parent, comm, filename), in one output format for all languages.

mod common;

use std::time::Duration;

use common::*;

fn execsnoop(lang: &str) -> std::path::PathBuf {
    guest(&format!("{lang}-execsnoop"))
}

#[test]
fn reports_the_process_the_test_execs() {
    for_each_language(reports_the_process_the_test_execs_in);
}

fn reports_the_process_the_test_execs_in(lang: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = Marker::new("bpflet-marker");
    let mut run = spawn(&execsnoop(lang), &[]);
    let header = run.wait_for(Duration::from_secs(60), |l| l.starts_with("PID"));
    assert_eq!(header, "PID      PPID     COMM             FILENAME");

    let pid = marker.exec();
    let filename = marker.path_str();
    let line = run.wait_for(Duration::from_secs(10), |l| l.ends_with(filename));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0].parse::<u32>().unwrap(), pid, "pid in {line:?}");
    assert_eq!(fields[1].parse::<u32>().unwrap(), std::process::id(), "ppid in {line:?}");
    assert_eq!(fields[2], "bpflet-marker", "comm in {line:?}");
    assert_eq!(fields[3], filename, "filename in {line:?}");
    // Every language prints the same columns, byte for byte.
    assert_eq!(line, format!("{:<8} {:<8} {:<16} {}", pid, std::process::id(), "bpflet-marker", filename));

    // Ctrl-C stops the guest; the exit status says it was interrupted.
    run.signal(SIGINT);
    let (status, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "exit status after SIGINT");
    before.assert_nothing_new_left();
}

#[test]
fn json_lines_parse_and_carry_the_same_fields() {
    for_each_language(json_lines_parse_and_carry_the_same_fields_in);
}

fn json_lines_parse_and_carry_the_same_fields_in(lang: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = Marker::new("bpflet-marker");
    let mut run = spawn(&execsnoop(lang), &["--json"]);
    let first = run.wait_for(Duration::from_secs(60), |l| l.starts_with('{'));
    assert_eq!(first, r#"{"attached":true}"#);

    let pid = marker.exec();
    let filename = marker.path_str();
    let line = run.wait_for(Duration::from_secs(10), |l| l.contains("bpflet-marker"));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(event["pid"], pid);
    assert_eq!(event["ppid"], std::process::id());
    assert_eq!(event["comm"], "bpflet-marker");
    assert_eq!(event["filename"], filename);
    let expected =
        format!(r#"{{"pid":{pid},"ppid":{},"comm":"bpflet-marker","filename":"{filename}"}}"#, std::process::id());
    assert_eq!(line, expected, "one JSON layout for every language");

    run.signal(SIGTERM);
    let (status, _) = run.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143), "exit status after SIGTERM");
    before.assert_nothing_new_left();
}

#[test]
fn the_ppid_filter_drops_other_parents() {
    for_each_language(the_ppid_filter_drops_other_parents_in);
}

fn the_ppid_filter_drops_other_parents_in(lang: &str) {
    let _serial = serial();
    let before = KernelObjects::now();
    let marker = Marker::new("bpflet-marker");
    // Only children of PID 1 pass; the test's own execs must not show.
    let mut run = spawn(&execsnoop(lang), &["--ppid", "1", "--duration", "3"]);
    run.wait_for(Duration::from_secs(60), |l| l.starts_with("PID"));
    marker.exec();
    let (status, lines) = run.finish(Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(!lines.iter().any(|l| l.contains("bpflet-marker")), "filtered exec was reported:\n{}", lines.join("\n"));
    before.assert_nothing_new_left();
}
