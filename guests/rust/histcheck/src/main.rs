//! histcheck: calls `bpflet:ebpf/histogram` with fixed slot counts and
//! prints every answer, so that the output of one provider can be compared
//! byte for byte with another's (`bpflet run --plug`): log2 histograms,
//! narrow and wide (past 2^33, and a slot past 2^127), linear ones
//! (negative minimum, bounds past 64 bits), JSON with labels and a total
//! that saturates, no counts at all, and a scale that is refused.
//! No BPF object: the calls alone.

use bpflet_sdk::plugins::histogram::{self, Label, LinearScale, Scale};

fn show(what: &str, answer: Result<String, bpflet_sdk::Error>) {
    println!("== {what}");
    match answer {
        Ok(text) => println!("{text}"),
        Err(error) => println!("error: {error:?}"),
    }
}

fn main() {
    let narrow = [0, 3, 0, 7, 1, 0];
    let mut wide = vec![0u64; 41];
    wide[2] = 5;
    wide[40] = 9;
    let mut huge = vec![0u64; 130];
    huge[1] = 1;
    huge[129] = 2;
    let linear = Scale::Linear(LinearScale { min: -10, step: 5 });
    let far = Scale::Linear(LinearScale { min: i64::MAX - 5, step: 3 });
    let labels =
        [Label { name: "map".into(), json: "\"hist\"".into() }, Label { name: "key\n\"x\"".into(), json: "7".into() }];

    show("log2 narrow", histogram::text(&narrow, Scale::Log2, "bytes"));
    show("log2 wide", histogram::text(&wide, Scale::Log2, "nsecs"));
    show("log2 past 2^127", histogram::text(&huge, Scale::Log2, "x"));
    show("linear", histogram::text(&[1, 2, 0, 4], linear, "ms"));
    show("linear past 64 bits", histogram::text(&[1, 1, 1], far, "ticks"));
    show("empty", histogram::text(&[0, 0, 0], Scale::Log2, "bytes"));
    show("a unit in UTF-8", histogram::text(&narrow, Scale::Log2, "µs ⏱"));
    show("step 0", histogram::text(&narrow, Scale::Linear(LinearScale { min: 0, step: 0 }), "x"));
    let labels: Vec<&Label> = labels.iter().collect();
    show("json log2", histogram::json(&labels, &narrow, Scale::Log2, "bytes"));
    show("json linear", histogram::json(&[], &[1, 2, 0, 4], linear, "ms\t\u{1}"));
    show("json past 64 bits", histogram::json(&[], &[1, 1, 1], far, "ticks"));
    show("json past 2^127", histogram::json(&[], &huge, Scale::Log2, "x"));
    show("json total saturates", histogram::json(&[], &[u64::MAX, 1, 2], Scale::Log2, "x"));
    show("json step -1", histogram::json(&[], &narrow, Scale::Linear(LinearScale { min: 0, step: -1 }), "x"));
}
