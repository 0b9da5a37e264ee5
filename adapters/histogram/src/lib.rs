//! bpflet's built-in provider of `bpflet:ebpf/histogram`: histograms from
//! slot counts, printed as BCC's tools print them, or as JSON.
//!
//! Built for wasm32-unknown-unknown, it imports nothing but the WIT types
//! it uses: a plug-in with no capabilities at all.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Value as Json};

use crate::bindings::exports::bpflet::ebpf::histogram::{self, Error, Label, LinearScale, Scale};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "bpflet:ebpf/histogram-provider",
        with: {
            "bpflet:ebpf/types@0.2.0/error": bpflet_sdk::Error,
            "bpflet:ebpf/types@0.2.0/load-failure": bpflet_sdk::LoadFailure,
            "bpflet:ebpf/types@0.2.0/os-error": bpflet_sdk::OsError,
        },
    });
}

/// Width of the star bar.
const STARS: u128 = 40;

struct Provider;

impl histogram::Guest for Provider {
    fn text(slots: Vec<u64>, scale: Scale, unit: String) -> Result<String, Error> {
        check(scale)?;
        Ok(render(&slots, scale, &unit))
    }

    fn json(labels: Vec<Label>, slots: Vec<u64>, scale: Scale, unit: String) -> Result<String, Error> {
        check(scale)?;
        let mut first = Vec::with_capacity(labels.len());
        for Label { name, json } in labels {
            let value = serde_json::from_str(&json)
                .map_err(|e| Error::InvalidArgument(format!("label {name}: not JSON ({e}): {json}")))?;
            first.push((name, value));
        }
        Ok(to_json(first, &slots, scale, &unit))
    }
}

bindings::export!(Provider with_types_in bindings);

fn check(scale: Scale) -> Result<(), Error> {
    match scale {
        Scale::Linear(LinearScale { step, .. }) if step <= 0 => {
            Err(Error::InvalidArgument(format!("linear scale with step {step}: the step must be greater than 0")))
        }
        _ => Ok(()),
    }
}

/// (low, high, count) of every slot from the first to the last that is
/// not empty; none when all are empty.
pub fn buckets(slots: &[u64], scale: Scale) -> Vec<(i128, i128, u64)> {
    let (Some(first), Some(last)) = (slots.iter().position(|&c| c > 0), slots.iter().rposition(|&c| c > 0)) else {
        return Vec::new();
    };
    (first..=last)
        .map(|i| {
            let (low, high) = match scale {
                Scale::Log2 if i == 0 => (0, 1),
                Scale::Log2 => {
                    // Slots past 126 print as 126: 2^127 - 1 is the most an
                    // i128 holds (wrapping: i128::MIN - 1 is i128::MAX).
                    let i = i.min(126) as u32;
                    (1i128 << i, (1i128 << (i + 1)).wrapping_sub(1))
                }
                Scale::Linear(LinearScale { min, step }) => {
                    let low = i128::from(min) + i as i128 * i128::from(step);
                    (low, low + i128::from(step) - 1)
                }
            };
            (low, high, slots[i])
        })
        .collect()
}

fn bar(count: u64, max: u64, width: u128) -> String {
    let stars = if max == 0 { 0 } else { u128::from(count) * width / u128::from(max) } as usize;
    format!("{}{}", "*".repeat(stars), " ".repeat(width as usize - stars))
}

/// The histogram as BCC prints it, or "" when every slot is empty.
///
/// ```text
///      bytes               : count     distribution
///          0 -> 1          : 10       |********************                    |
/// ```
pub fn render(slots: &[u64], scale: Scale, unit: &str) -> String {
    let rows = buckets(slots, scale);
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    match scale {
        Scale::Log2 => {
            // Values past 2^33 need wider columns (and a shorter bar), as in BCC.
            let wide = slots.iter().rposition(|&c| c > 0).unwrap_or(0) > 32;
            let (indent, label, number, stars) = if wide { (15, 29, 20, STARS / 2) } else { (5, 19, 10, STARS) };
            out += &format!("{:indent$}{unit:<label$} : count     distribution\n", "");
            for (low, high, count) in rows {
                out += &format!("{low:>number$} -> {high:<number$} : {count:<8} |{}|\n", bar(count, max, stars));
            }
        }
        Scale::Linear(_) => {
            out += &format!("     {unit:<13} : count     distribution\n");
            for (low, _, count) in rows {
                out += &format!("        {low:<10} : {count:<8} |{}|\n", bar(count, max, STARS));
            }
        }
    }
    out
}

/// The histogram as one JSON object, as text: `first`, then unit, scale,
/// the non-empty range of buckets and the total. Bucket bounds are exact,
/// past 64 bits too (serde_json writes an i128 as its digits).
pub fn to_json(first: Vec<(String, Json)>, slots: &[u64], scale: Scale, unit: &str) -> String {
    let histogram = Histogram { first, buckets: buckets(slots, scale), unit, scale, total: total(slots) };
    // Serializing these types into a String cannot fail.
    serde_json::to_string(&histogram).unwrap_or_default()
}

/// Every slot's count, added up without overflow (saturating).
fn total(slots: &[u64]) -> u64 {
    slots.iter().fold(0u64, |a, &c| a.saturating_add(c))
}

struct Histogram<'a> {
    first: Vec<(String, Json)>,
    buckets: Vec<(i128, i128, u64)>,
    unit: &'a str,
    scale: Scale,
    total: u64,
}

impl Serialize for Histogram<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.first {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("unit", self.unit)?;
        match self.scale {
            Scale::Log2 => map.serialize_entry("scale", "log2")?,
            Scale::Linear(LinearScale { min, step }) => {
                map.serialize_entry("scale", &json!({"linear": {"min": min, "step": step}}))?
            }
        }
        map.serialize_entry("buckets", &Buckets(&self.buckets))?;
        map.serialize_entry("total", &self.total)?;
        map.end()
    }
}

struct Buckets<'a>(&'a [(i128, i128, u64)]);

impl Serialize for Buckets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for &(low, high, count) in self.0 {
            seq.serialize_element(&Bucket { low, high, count })?;
        }
        seq.end()
    }
}

struct Bucket {
    low: i128,
    high: i128,
    count: u64,
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("low", &self.low)?;
        map.serialize_entry("high", &self.high)?;
        map.serialize_entry("count", &self.count)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> Vec<u64> {
        // 10 writes of 1 byte, 20 of 1000, 5 of 70000.
        let mut slots = vec![0u64; 32];
        slots[0] = 10;
        slots[9] = 20;
        slots[16] = 5;
        slots
    }

    #[test]
    fn log2_like_bcc() {
        let text = render(&sizes(), Scale::Log2, "bytes");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "     bytes               : count     distribution");
        assert_eq!(lines[1], "         0 -> 1          : 10       |********************                    |");
        assert_eq!(lines[2], "         2 -> 3          : 0        |                                        |");
        assert_eq!(lines[10], "       512 -> 1023       : 20       |****************************************|");
        assert_eq!(lines[17], "     65536 -> 131071     : 5        |**********                              |");
        assert_eq!(lines.len(), 18, "{text}");
    }

    #[test]
    fn skips_leading_and_trailing_empty_slots() {
        let mut slots = vec![0u64; 32];
        slots[3] = 1;
        slots[5] = 3;
        let text = render(&slots, Scale::Log2, "value");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("         8 -> 15         : 1 "), "{text}");
        assert!(lines[3].starts_with("        32 -> 63         : 3 "), "{text}");
        assert_eq!(render(&[0; 8], Scale::Log2, "value"), "");
    }

    #[test]
    fn wide_log2_values() {
        let mut slots = vec![0u64; 64];
        slots[40] = 2;
        let text = render(&slots, Scale::Log2, "ns");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("{:15}{:<29} : count     distribution", "", "ns"));
        assert_eq!(lines[1], format!("{:>20} -> {:<20} : 2        |{}|", 1u64 << 40, (1u64 << 41) - 1, "*".repeat(20)));
    }

    #[test]
    fn any_number_of_slots_prints_without_overflow() {
        let mut slots = vec![0u64; 200];
        slots[199] = 1;
        slots[0] = u64::MAX;
        let text = render(&slots, Scale::Log2, "x");
        assert!(text.contains(&format!("{} -> {}", 1i128 << 126, i128::MAX)), "{text}");
        let j = to_json(Vec::new(), &slots, Scale::Linear(LinearScale { min: i64::MIN, step: i64::MAX }), "x");
        assert!(j.ends_with(&format!(",\"total\":{}}}", u64::MAX)), "{j}");
        // The last bucket's bounds, past 64 bits, exactly.
        let low = i128::from(i64::MIN) + 199 * i128::from(i64::MAX);
        assert!(
            j.contains(&format!("{{\"low\":{low},\"high\":{},\"count\":1}}", low + i128::from(i64::MAX) - 1)),
            "{j}"
        );
    }

    #[test]
    fn linear() {
        let text = render(&[0, 4, 0, 2, 0], Scale::Linear(LinearScale { min: 100, step: 10 }), "ms");
        assert_eq!(
            text,
            "     ms            : count     distribution\n\
             \x20       110        : 4        |****************************************|\n\
             \x20       120        : 0        |                                        |\n\
             \x20       130        : 2        |********************                    |\n"
        );
        assert!(check(Scale::Linear(LinearScale { min: 0, step: 0 })).is_err());
        assert!(check(Scale::Log2).is_ok());
    }

    #[test]
    fn json_labels_first_then_buckets_and_total() {
        let j = to_json(vec![("map".into(), json!("hist")), ("key".into(), json!(7))], &sizes(), Scale::Log2, "bytes");
        let j: Json = serde_json::from_str(&j).unwrap();
        assert_eq!(j["total"], 35);
        assert_eq!(j["buckets"][0], json!({"low": 0, "high": 1, "count": 10}));
        assert_eq!(j["buckets"][16], json!({"low": 65536, "high": 131071, "count": 5}));
        assert_eq!(j["buckets"].as_array().unwrap().len(), 17);
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["map", "key", "unit", "scale", "buckets", "total"]);
    }
}
