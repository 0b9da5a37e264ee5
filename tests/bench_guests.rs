//! The benchmark guests (`make bench`) of every language read correctly:
//! a burst of ring buffer records arrives whole and exactly once, read in
//! place (`map-ring`: the SDKs' ring readers) and with poll batches; map
//! operations return what was stored (each guest checks every value and
//! fails on a wrong one). Speed is measured by `make bench`, not here.

mod common;

use std::time::Duration;

use common::*;

const COUNT: u64 = 50_000;

fn events_in(lang: &str, size: u32, poll: bool) {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let (size, count) = (size.to_string(), COUNT.to_string());
    let mut args = vec!["events", "--size", &size, "--trigger-pid", &me, "--count", &count];
    args.extend(["--reps", "2", "--warmup", "0", "--batch", "512"]);
    if poll {
        args.extend(["--poll", "1"]);
    }
    let mut run = spawn(&guest(&format!("{lang}-bench")), &args);
    run.wait_for(Duration::from_secs(60), |l| l == "ready");
    for rep in 0..2 {
        // One burst of COUNT records with seq 0..COUNT per getppid().
        getppid();
        let line = run.wait_for(Duration::from_secs(30), |l| l.starts_with("rep "));
        assert!(line.starts_with(&format!("rep {rep} ")), "{line}");
        assert_eq!(field(&line, "dropped"), 0, "{line}");
        assert_eq!(field(&line, "records"), COUNT, "{line}");
        assert_eq!(field(&line, "sum"), COUNT * (COUNT - 1) / 2, "{line}");
    }
    run.wait_for(Duration::from_secs(10), |l| l == "done");
    let (status, lines) = run.finish(Duration::from_secs(15));
    assert!(status.success(), "{status}\n{}", lines.join("\n"));
    before.assert_nothing_new_left();
}

#[test]
fn ring_records_read_in_place_arrive_once_each() {
    for_each_language(|lang| events_in(lang, 64, false));
}

#[test]
fn ring_records_read_in_place_arrive_once_each_512_bytes() {
    for_each_language(|lang| events_in(lang, 512, false));
}

#[test]
fn ring_records_polled_in_batches_arrive_once_each() {
    for_each_language(|lang| events_in(lang, 64, true));
}

#[test]
fn map_operations_return_what_was_stored() {
    for_each_language(|lang| {
        let _serial = serial();
        let before = KernelObjects::now();
        let run = spawn(&guest(&format!("{lang}-bench")), &["maps", "--ops", "10000", "--reps", "1"]);
        let (status, lines) = run.finish(Duration::from_secs(60));
        let output = lines.join("\n");
        assert!(status.success(), "{status}\n{output}");
        for op in ["map-update", "map-lookup", "map-lookup-batch", "percpu-lookup", "host-call"] {
            let line = lines
                .iter()
                .find(|l| l.starts_with(&format!("{op} ")))
                .unwrap_or_else(|| panic!("no {op} line:\n{output}"));
            // The batched walk saw every element the updates stored.
            assert_eq!(field(line, "ops"), 10_000, "{line}");
        }
        before.assert_nothing_new_left();
    });
}
