//! Whole maps as tables or one JSON line each, and the order keys print
//! in.

use std::cmp::Ordering;

use bpflet_decode::btf::Scalar;
use bpflet_decode::value::{decode_or_guess, sum_per_cpu, Value};
use bpflet_decode::Types;
use serde_json::json;

use crate::table;

/// A map to print: what `render.map-contents` carries, with each value
/// split per CPU.
pub struct Contents<'a> {
    pub name: &'a str,
    pub key_type: u32,
    pub value_type: u32,
    pub value_size: usize,
    pub per_cpu: bool,
    pub array: bool,
    /// Key bytes and value bytes (one value per CPU, `value_size` apart,
    /// for a per-CPU map).
    pub entries: Vec<(&'a [u8], &'a [u8])>,
}

/// Orders keys by their number when they are one, else by their bytes.
pub fn key_order((a, a_bytes): (&Value<'_>, &[u8]), (b, b_bytes): (&Value<'_>, &[u8])) -> Ordering {
    match (a.as_i128(), b.as_i128()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a_bytes.cmp(b_bytes),
    }
}

/// Column titles, cells and alignment of a decoded key or value: one per
/// member of a struct, else one called `title`.
fn columns_of(value: &Value<'_>, title: &str) -> (Vec<String>, Vec<String>, Vec<bool>) {
    let numeric = |v: &Value<'_>| matches!(v, Value::Unsigned(_) | Value::Signed(_) | Value::Float(_));
    match value {
        Value::Fields(fields) => (
            fields.iter().map(|(n, _)| n.to_uppercase()).collect(),
            fields.iter().map(|(_, v)| v.to_text()).collect(),
            fields.iter().map(|(_, v)| numeric(v)).collect(),
        ),
        other => (vec![title.into()], vec![other.to_text()], vec![numeric(other)]),
    }
}

/// One value per CPU of a per-CPU map's element, else the value.
fn per_cpu<'b>(map: &Contents<'_>, value_bytes: &'b [u8]) -> Vec<&'b [u8]> {
    if map.per_cpu && map.value_size > 0 {
        value_bytes.chunks(map.value_size).collect()
    } else {
        vec![value_bytes]
    }
}

/// One map as a table (`NAME:` and the table, or `NAME: (empty)`) or one
/// JSON line. Array elements that are all zero are left out. Per-CPU
/// integers are summed over the CPUs; other per-CPU values print one row
/// per CPU that holds something.
pub fn print(types: &Types, map: &Contents<'_>, json: bool) -> String {
    let name = map.name;
    let summable = if map.value_type == 0 {
        matches!(map.value_size, 1 | 2 | 4 | 8)
    } else {
        matches!(types.scalar(map.value_type), Some(Scalar::Int { .. }))
    };
    let split = map.per_cpu && !summable;
    // The values summed over the CPUs first: decoded values borrow them.
    let summed: Vec<Vec<u8>> = if split {
        Vec::new()
    } else {
        map.entries
            .iter()
            .map(|&(_, value_bytes)| sum_per_cpu(types, map.value_type, &per_cpu(map, value_bytes)))
            .collect()
    };
    // (key, key bytes, CPU, value)
    let mut rows: Vec<(Value<'_>, &[u8], Option<usize>, Value<'_>)> = Vec::new();
    for (i, &(key_bytes, value_bytes)) in map.entries.iter().enumerate() {
        let key = decode_or_guess(types, map.key_type, key_bytes);
        if split {
            for (cpu, bytes) in per_cpu(map, value_bytes).into_iter().enumerate() {
                let value = decode_or_guess(types, map.value_type, bytes);
                if !value.is_zero() {
                    rows.push((key.clone(), key_bytes, Some(cpu), value));
                }
            }
        } else {
            let value = decode_or_guess(types, map.value_type, &summed[i]);
            if !(map.array && value.is_zero()) {
                rows.push((key, key_bytes, None, value));
            }
        }
    }
    rows.sort_by(|a, b| key_order((&a.0, a.1), (&b.0, b.1)).then(a.2.cmp(&b.2)));
    if json {
        let entries: Vec<serde_json::Value> = rows
            .iter()
            .map(|(k, _, cpu, v)| match cpu {
                Some(cpu) => json!({"key": k, "cpu": cpu, "value": v}),
                None => json!({"key": k, "value": v}),
            })
            .collect();
        return format!("{}\n", json!({"map": name, "entries": entries}));
    }
    if rows.is_empty() {
        return format!("{name}: (empty)\n");
    }
    let (mut titles, _, mut right) = columns_of(&rows[0].0, "KEY");
    if split {
        titles.push("CPU".into());
        right.push(true);
    }
    let (value_titles, _, value_right) = columns_of(&rows[0].3, "VALUE");
    titles.extend(value_titles);
    right.extend(value_right);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, _, cpu, v)| {
            let mut cells = columns_of(k, "KEY").1;
            cells.extend(cpu.map(|c| c.to_string()));
            cells.extend(columns_of(v, "VALUE").1);
            cells
        })
        .collect();
    format!("{name}:\n{}", table::render(&titles, &right, &cells))
}
