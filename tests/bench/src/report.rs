//! Result rows, the machine they came from, the printed table and
//! `results.json`.

use std::path::Path;

use anyhow::Result;
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// What the issue asks of a row, checked on the ratio (or, for the Go
/// guest's warm start, on bpflet's own time).
#[derive(Clone, Copy)]
pub enum Target {
    RatioAtLeast(f64),
    RatioAtMost(f64),
    RatioBelow(f64),
    BpfletBelow(f64),
}

impl Target {
    fn met(self, row: &Row) -> bool {
        match self {
            Target::RatioAtLeast(x) => row.ratio() >= x,
            Target::RatioAtMost(x) => row.ratio() <= x,
            Target::RatioBelow(x) => row.ratio() < x,
            Target::BpfletBelow(x) => row.bpflet < x,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::RatioAtLeast(x) => format!("ratio >= {x:.2}"),
            Target::RatioAtMost(x) => format!("ratio <= {x:.2}"),
            Target::RatioBelow(x) => format!("ratio < {x:.2}"),
            Target::BpfletBelow(x) => format!("bpflet < {x} {unit}"),
        }
    }
}

pub struct Row {
    pub bench: &'static str,
    pub guest: &'static str,
    pub native: f64,
    pub bpflet: f64,
    pub unit: &'static str,
    pub better: Better,
    /// Records lost (events rows): (native, bpflet).
    pub lost: Option<(u64, u64)>,
    pub targets: Vec<Target>,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.bpflet / self.native
    }

    /// "met", "MISSED" or "" (no target); lost records where native lost
    /// none also miss.
    fn verdict(&self) -> &'static str {
        let lost_ok = self.lost.is_none_or(|(native, bpflet)| native > 0 || bpflet == 0);
        match (self.targets.is_empty(), lost_ok && self.targets.iter().all(|t| t.met(self))) {
            (true, _) if lost_ok => "",
            (_, true) => "met",
            _ => "MISSED",
        }
    }

    fn json(&self) -> Value {
        let mut row = json!({
            "bench": self.bench,
            "guest": self.guest,
            "native": round(self.native),
            "bpflet": round(self.bpflet),
            "unit": self.unit,
            "ratio": round(self.ratio()),
            "better": match self.better { Better::Higher => "higher", Better::Lower => "lower" },
        });
        if let Some((native, bpflet)) = self.lost {
            row["lost"] = json!({ "native": native, "bpflet": bpflet });
        }
        row
    }
}

/// Four significant digits (whole numbers from 1000 up) are more than
/// these measurements carry.
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    if x.abs() >= 1000.0 {
        return x.round();
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub fn machine() -> Value {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let memory_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    json!({
        "cpu": cpu,
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "memory_mib": memory_kib / 1024,
    })
}

fn number(x: f64) -> String {
    if x >= 100_000.0 {
        // Thousands separators for records/s.
        let digits = format!("{:.0}", x);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The table as markdown, so the README can take it as it is.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| bench | guest | native | bpflet | unit | ratio | better | lost (native/bpflet) | target |\n\
         |---|---|---:|---:|---|---:|---|---|---|\n",
    );
    for row in rows {
        let lost = row.lost.map_or(String::new(), |(n, b)| format!("{n}/{b}"));
        let targets: Vec<String> = row.targets.iter().map(|t| t.text(row.unit)).collect();
        let target = match row.verdict() {
            "" => String::new(),
            verdict => format!("{} ({verdict})", targets.join(", ")),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
            row.bench,
            row.guest,
            number(row.native),
            number(row.bpflet),
            row.unit,
            row.ratio(),
            if row.better == Better::Higher { "higher" } else { "lower" },
            lost,
            target,
        ));
    }
    out
}

pub fn write_json(path: &Path, machine: Value, rows: &[Row]) -> Result<()> {
    let results: Vec<Value> = rows.iter().map(Row::json).collect();
    let doc = json!({ "machine": machine, "results": results });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}
