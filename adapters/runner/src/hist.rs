//! Histograms: maps whose value is a struct with an integer array member
//! `slots`. Printed as BCC's log2 and linear histograms are, or as JSON.
//! Pure.

use bpflet_sdk::bindings::bpflet::ebpf::btf::{IntEncoding, Kind};
use serde_json::{json, Value as Json};

use crate::btf::{int_is_signed, Types};
use crate::value::{read_uint, Value};

/// Width of the star bar.
const STARS: u128 = 40;

/// Where the slots are in a histogram map's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Byte offset of `slots[0]`.
    pub offset: usize,
    /// Size of one slot: 1, 2, 4 or 8 bytes.
    pub size: usize,
    pub count: usize,
    pub signed: bool,
}

/// The histogram layout of a map value of type `value`, if it has one: a
/// struct with a member `slots` that is an array of integers.
pub fn layout(types: &Types, value: u32) -> Option<Layout> {
    if !matches!(types.kind(value)?, Kind::StructType(_)) {
        return None;
    }
    let slots = types.fields(value).into_iter().find(|m| m.name == "slots" && m.bitfield_size == 0)?;
    let Kind::Array(array) = types.kind(slots.type_)? else {
        return None;
    };
    match types.kind(array.element)? {
        Kind::Int(int)
            if int.encoding != IntEncoding::Bool
                && matches!(int.size, 1 | 2 | 4 | 8)
                && !types.is_char(array.element) =>
        {
            Some(Layout {
                offset: slots.bit_offset as usize / 8,
                size: int.size as usize,
                count: array.count as usize,
                signed: int_is_signed(int),
            })
        }
        _ => None,
    }
}

/// The slot counts in a value's bytes (negative counts read as 0).
pub fn slots(layout: &Layout, bytes: &[u8]) -> Vec<u64> {
    (0..layout.count)
        .map(|i| {
            let Some(raw) = bytes.get(layout.offset + i * layout.size..).and_then(|b| read_uint(b, layout.size)) else {
                return 0;
            };
            let top = 1u64 << (layout.size * 8 - 1);
            if layout.signed && raw & top != 0 {
                0
            } else {
                raw
            }
        })
        .collect()
}

/// How slot numbers map to values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Slot i counts values from 2^i to 2^(i+1) - 1 (slot 0: 0 and 1).
    Log2,
    /// Slot i counts values from min + i*step to min + (i+1)*step - 1.
    Linear { min: i64, step: i64 },
}

/// The scale a `bpflet.hist` decl tag asks for: `log2` (the default) or
/// `linear:<min>:<step>`.
pub fn scale(tag: Option<&str>) -> Result<Scale, String> {
    let Some(tag) = tag else {
        return Ok(Scale::Log2);
    };
    if tag == "log2" {
        return Ok(Scale::Log2);
    }
    let parts: Vec<&str> = tag.split(':').collect();
    match parts.as_slice() {
        ["linear", min, step] => match (min.trim().parse::<i64>(), step.trim().parse::<i64>()) {
            (Ok(min), Ok(step)) if step > 0 => Ok(Scale::Linear { min, step }),
            _ => Err(format!("bpflet.hist={tag}: expected linear:<min>:<step> with integers, step > 0")),
        },
        _ => Err(format!("bpflet.hist={tag}: expected log2 or linear:<min>:<step>")),
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
                    let i = i.min(126) as u32;
                    (1i128 << i, (1i128 << (i + 1)) - 1)
                }
                Scale::Linear { min, step } => {
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
        Scale::Linear { .. } => {
            out += &format!("     {unit:<13} : count     distribution\n");
            for (low, _, count) in rows {
                out += &format!("        {low:<10} : {count:<8} |{}|\n", bar(count, max, STARS));
            }
        }
    }
    out
}

/// The histogram as one JSON object (after `map` and, per key, `key`):
/// unit, scale, the non-empty range of buckets and the total.
pub fn to_json(map: &str, key: Option<Json>, slots: &[u64], scale: Scale, unit: &str) -> Json {
    let buckets: Vec<Json> = buckets(slots, scale)
        .into_iter()
        .map(|(low, high, count)| json!({"low": low as i64, "high": high as i64, "count": count}))
        .collect();
    let total: u64 = slots.iter().fold(0u64, |a, &c| a.saturating_add(c));
    let mut object = serde_json::Map::new();
    object.insert("map".into(), map.into());
    if let Some(key) = key {
        object.insert("key".into(), key);
    }
    object.insert("unit".into(), unit.into());
    object.insert(
        "scale".into(),
        match scale {
            Scale::Log2 => json!("log2"),
            Scale::Linear { min, step } => json!({"linear": {"min": min, "step": step}}),
        },
    );
    object.insert("buckets".into(), buckets.into());
    object.insert("total".into(), total.into());
    Json::Object(object)
}

/// The line that names one histogram of a map with several: the key
/// (`pid = 1234`, or each member of a struct key) and the value's members
/// other than `slots` (`comm = bash`). `key_name` names a scalar key.
pub fn heading(key: Option<&Value>, key_name: &str, value: &Value) -> String {
    let mut parts = Vec::new();
    match key {
        Some(Value::Fields(fields)) => parts.extend(fields.iter().map(|(n, v)| format!("{n} = {}", v.to_text()))),
        Some(other) => parts.push(format!("{key_name} = {}", other.to_text())),
        None => {}
    }
    if let Value::Fields(fields) = value {
        parts.extend(fields.iter().filter(|(n, _)| n != "slots").map(|(n, v)| format!("{n} = {}", v.to_text())));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::testing::Builder;

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
    fn linear_from_the_tag() {
        assert_eq!(scale(None), Ok(Scale::Log2));
        assert_eq!(scale(Some("linear:100:10")), Ok(Scale::Linear { min: 100, step: 10 }));
        assert!(scale(Some("linear:1:0")).is_err());
        assert!(scale(Some("cubic")).is_err());
        let text = render(&[0, 4, 0, 2, 0], Scale::Linear { min: 100, step: 10 }, "ms");
        assert_eq!(
            text,
            "     ms            : count     distribution\n\
             \x20       110        : 4        |****************************************|\n\
             \x20       120        : 0        |                                        |\n\
             \x20       130        : 2        |********************                    |\n"
        );
    }

    #[test]
    fn json_buckets_and_total() {
        let j = to_json("hist", None, &sizes(), Scale::Log2, "bytes");
        assert_eq!(j["total"], 35);
        assert_eq!(j["buckets"][0], json!({"low": 0, "high": 1, "count": 10}));
        assert_eq!(j["buckets"][16], json!({"low": 65536, "high": 131071, "count": 5}));
        assert_eq!(j["buckets"].as_array().unwrap().len(), 17);
        assert!(j.get("key").is_none());
    }

    #[test]
    fn finds_slots_in_a_value_struct() {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let slots = b.array(u32_, 26);
        let comm = b.array(ch, 16);
        let hist = b.structure("hist", 120, &[("slots", slots, 0), ("comm", comm, 104)]);
        let not_hist = b.structure("counts", 104, &[("buckets", slots, 0)]);
        let text_slots = b.structure("names", 16, &[("slots", comm, 0)]);
        let t = b.build();
        assert_eq!(layout(&t, hist), Some(Layout { offset: 0, size: 4, count: 26, signed: false }));
        assert_eq!(layout(&t, not_hist), None);
        assert_eq!(layout(&t, text_slots), None);
        assert_eq!(layout(&t, u32_), None);

        let mut bytes = vec![0u8; 120];
        bytes[4..8].copy_from_slice(&3u32.to_le_bytes());
        let read = super::slots(&layout(&t, hist).unwrap(), &bytes);
        assert_eq!(read.len(), 26);
        assert_eq!(read[1], 3);
    }

    #[test]
    fn headings_name_the_key_and_other_members() {
        let value =
            Value::Fields(vec![("slots".into(), Value::List(vec![])), ("comm".into(), Value::Str("bash".into()))]);
        assert_eq!(heading(Some(&Value::Unsigned(1234)), "pid", &value), "pid = 1234, comm = bash");
        let key = Value::Fields(vec![("pid".into(), Value::Unsigned(1)), ("cpu".into(), Value::Unsigned(2))]);
        assert_eq!(heading(Some(&key), "key", &Value::Missing), "pid = 1, cpu = 2");
    }
}
