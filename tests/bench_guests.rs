//! The benchmark guests (`make bench`) of every language read correctly:
//! a burst of ring buffer records arrives whole and exactly once, read in
//! place (`map-ring` granted: the SDKs' ring readers), by the ring readers
//! without the grant (they poll) and with poll batches; map
//! operations return what was stored (each guest checks every value and
//! fails on a wrong one). Speed is measured by `make bench`, not here.

mod common;

use std::time::Duration;

use common::*;

const COUNT: u64 = 50_000;

/// How a bench guest reads the burst.
#[derive(Clone, Copy)]
enum How {
    /// The SDK's ring reader, `map-ring` granted: in place.
    InPlace,
    /// The SDK's ring reader without the grant: it polls.
    RingPolled,
    /// `--poll 1`: the poll API itself.
    Poll,
}

fn events_in(lang: &str, size: u32, how: How) {
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let (size, count) = (size.to_string(), COUNT.to_string());
    let mut args = vec!["events", "--size", &size, "--trigger-pid", &me, "--count", &count];
    args.extend(["--reps", "2", "--warmup", "0", "--batch", "512"]);
    let (options, reader): (&[&str], _) = match how {
        How::InPlace => (&["--allow", "map-ring"], "reader in-place"),
        How::RingPolled => (&[], "reader polled"),
        How::Poll => {
            args.extend(["--poll", "1"]);
            (&[], "reader poll")
        }
    };
    let mut run = spawn_with(options, &guest(&format!("{lang}-bench")), &args);
    let line = run.wait_for(Duration::from_secs(60), |l| l.starts_with("reader "));
    assert_eq!(line, reader, "{lang}");
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
    for_each_language(|lang| events_in(lang, 64, How::InPlace));
}

#[test]
fn ring_records_read_in_place_arrive_once_each_512_bytes() {
    for_each_language(|lang| events_in(lang, 512, How::InPlace));
}

/// Without `--allow map-ring` the SDKs' ring readers poll instead.
#[test]
fn ring_readers_without_the_grant_poll_and_records_arrive_once_each() {
    for_each_language(|lang| events_in(lang, 64, How::RingPolled));
}

#[test]
fn ring_records_polled_in_batches_arrive_once_each() {
    for_each_language(|lang| events_in(lang, 64, How::Poll));
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

/// The rows a bench guest prints with `--render MODE` for two bursts of
/// `count` records, the TIME column (the wall clock) and the CPU column
/// (wherever this thread ran the trigger) masked.
fn rendered(lang: &str, mode: &str, count: u64) -> Vec<String> {
    let _serial = serial();
    let before = KernelObjects::now();
    let (me, count_s) = (std::process::id().to_string(), count.to_string());
    let args = ["events", "--trigger-pid", &me, "--count", &count_s, "--reps", "2", "--warmup", "0"];
    // In place, as `make bench` runs them: the SDKs pass the ring's stretch.
    let args = [&args[..], &["--batch", "100", "--render", mode]].concat();
    let mut run = spawn_with(&["--allow", "map-ring"], &guest(&format!("{lang}-bench")), &args);
    // The report goes to stderr when stdout carries the rows.
    run.wait_for_stderr(Duration::from_secs(60), |l| l == "ready");
    for _ in 0..2 {
        getppid();
        let line = run.wait_for_stderr(Duration::from_secs(30), |l| l.starts_with("rep "));
        assert_eq!(field(&line, "records"), count, "{line}");
    }
    run.wait_for_stderr(Duration::from_secs(10), |l| l == "done");
    let (status, stdout, stderr) = run.finish_all(Duration::from_secs(15));
    assert!(status.success(), "{status}\n{}", stderr.join("\n"));
    before.assert_nothing_new_left();
    stdout
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                return line;
            }
            // TIME (8), SEQ (20), CPU (10), two spaces apart.
            let (clock, cpu) = (&line[..8], &line[32..42]);
            assert!(clock.as_bytes()[2] == b':' && clock.as_bytes()[5] == b':', "{line}");
            assert!(cpu.trim_start().parse::<u32>().is_ok(), "{line}");
            format!("HH:MM:SS{}CPU{}", &line[8..39], &line[42..])
        })
        .collect()
}

/// `make bench`'s render rows compare the render plug-in with each guest's
/// hand-written renderer: both must print the same bytes, the table that
/// `bpflet run burst.bpf.o` prints, whether the SDK hands the plug-in the
/// ring's memory in place (records a header apart) or packs records that
/// lie apart.
#[test]
fn render_plug_in_and_hand_written_renderer_print_the_same_rows() {
    const RECORDS: u64 = 250;
    for lang in ["c", "go"] {
        let plugin = rendered(lang, "1", RECORDS);
        let hand = rendered(lang, "2", RECORDS);
        assert_eq!(plugin.len() as u64, 1 + 2 * RECORDS, "{lang}: {plugin:?}");
        assert_eq!(plugin[0], "TIME                       SEQ         CPU         PAD  PAYLOAD", "{lang}: the header");
        let zeros = vec!["0"; 48].join(",");
        // Each burst's seq numbers count from 0; payloads are zeros.
        let last = &plugin[RECORDS as usize];
        assert!(last.starts_with(&format!("HH:MM:SS  {:>20}         CPU  ", RECORDS - 1)), "{lang}: {last}");
        assert!(plugin[1].starts_with("HH:MM:SS                     0         CPU  "), "{lang}: {}", plugin[1]);
        assert!(plugin[1].ends_with(&format!("           0  [{zeros}]")), "{lang}: {}", plugin[1]);
        assert_eq!(plugin, hand, "{lang}: the plug-in's rows and the hand-written ones differ");
        // The records copied apart: the SDK packs them before the call.
        assert_eq!(rendered(lang, "3", RECORDS), hand, "{lang}: rows of records packed for the call differ");
    }
}

/// A Go program that prints a lot through a plug-in keeps running: every
/// batch's text comes back into the guest through cabi_realloc, where the
/// Go runtime must not start a GC phase (it would call the wall clock from
/// inside the allocation, and the component model traps that). 400 000
/// records make tens of megabytes of text, many GC cycles' worth.
#[test]
fn a_go_program_printing_through_a_plug_in_survives_its_garbage_collector() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let _serial = serial();
    let before = KernelObjects::now();
    let me = std::process::id().to_string();
    let mut child = Command::new(bpflet())
        .arg("run")
        .arg(guest("go-bench"))
        .args(["--", "events", "--trigger-pid", &me, "--count", "100000", "--reps", "4", "--warmup", "0"])
        .args(["--batch", "512", "--render", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bpflet starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut seen = Vec::new();
    let mut next = |seen: &mut Vec<String>| {
        let line = lines.next().unwrap_or_else(|| panic!("bpflet ended early:\n{}", seen.join("\n")));
        seen.push(line.clone());
        line
    };
    assert_eq!(next(&mut seen), "reader polled");
    assert_eq!(next(&mut seen), "ready");
    for rep in 0..4 {
        getppid();
        let line = next(&mut seen);
        assert!(line.starts_with(&format!("rep {rep} records=100000 ")), "{}", seen.join("\n"));
    }
    assert_eq!(next(&mut seen), "done");
    assert!(child.wait().unwrap().success());
    before.assert_nothing_new_left();
}
