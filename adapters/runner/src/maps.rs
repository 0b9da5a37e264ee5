//! The object's maps: which are buffers, histograms or plain maps, reading
//! them whole, and printing histograms and `--print-maps` tables.

use std::cmp::Ordering;

use bpflet_sdk::{BpfMap, Error, MapInfo, MapType, Object};
use serde_json::json;

use crate::btf::{Scalar, Types};
use crate::hist::{self, Layout, Scale};
use crate::table;
use crate::value::{decode, decode_or_guess, sum_per_cpu, Value};

/// Elements per host call when reading a map.
const PAGE: u32 = 256;

pub fn is_buffer(info: &MapInfo) -> bool {
    matches!(info.map_type, MapType::Ringbuf | MapType::PerfEventArray)
}

/// libbpf's maps for `.rodata`, `.data`, `.bss`, `.kconfig`: named
/// `<object>.<section>`, a name no C map can have.
pub fn is_internal(info: &MapInfo) -> bool {
    info.name.contains('.')
}

fn is_array(info: &MapInfo) -> bool {
    matches!(info.map_type, MapType::Array | MapType::PercpuArray)
}

/// Map types whose elements user space can walk and print.
fn is_printable(info: &MapInfo) -> bool {
    matches!(
        info.map_type,
        MapType::Hash
            | MapType::Array
            | MapType::PercpuHash
            | MapType::PercpuArray
            | MapType::LruHash
            | MapType::LruPercpuHash
            | MapType::LpmTrie
    )
}

/// `prog-array`, as the WIT spells a map type.
fn type_name(map_type: MapType) -> String {
    let debug = format!("{map_type:?}");
    let camel = debug.rsplit("::").next().unwrap_or(&debug);
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A map and the BTF types of its keys and values (0: not declared).
pub struct TypedMap {
    pub info: MapInfo,
    pub map: BpfMap,
    pub key: u32,
    pub value: u32,
}

/// A map printed as histograms.
pub struct Histogram {
    pub typed: TypedMap,
    pub layout: Layout,
    pub scale: Scale,
    /// Column title: `bpflet.unit`, default `value`.
    pub unit: String,
    /// What a scalar key is called in headings: `bpflet.key`, default `key`.
    pub key_name: String,
}

/// The object's maps sorted by what the runner does with them.
#[derive(Default)]
pub struct Maps {
    pub histograms: Vec<Histogram>,
    /// Printed by `--print-maps`.
    pub plain: Vec<TypedMap>,
    /// Names of maps `--print-maps` cannot print, with their type.
    pub unprintable: Vec<(String, MapType)>,
}

/// Sorts the loaded object's maps (buffers and internal maps aside).
pub fn classify(object: &Object, types: &Types, maps: &[MapInfo]) -> Result<Maps, String> {
    let mut out = Maps::default();
    for info in maps.iter().filter(|m| !is_buffer(m) && !is_internal(m)) {
        let map_types = object.raw().map_types(&info.name).map_err(|e| format!("map {}: {e}", info.name))?;
        let layout = (map_types.value != 0).then(|| hist::layout(types, map_types.value)).flatten();
        if !is_printable(info) {
            if layout.is_some() {
                eprintln!(
                    "note: map {} looks like a histogram, but {:?} maps cannot be read",
                    info.name, info.map_type
                );
            }
            out.unprintable.push((info.name.clone(), info.map_type));
            continue;
        }
        let map = object.map(&info.name).map_err(|e| format!("opening map {}: {e}", info.name))?;
        let typed = TypedMap { info: info.clone(), map, key: map_types.key, value: map_types.value };
        match layout {
            Some(layout) => {
                let definition = map_types.definition;
                let scale = hist::scale(types.tag(definition, "bpflet.hist")).unwrap_or_else(|why| {
                    eprintln!("note: map {}: {why}; printing a log2 histogram", info.name);
                    Scale::Log2
                });
                out.histograms.push(Histogram {
                    typed,
                    layout,
                    scale,
                    unit: types.tag(definition, "bpflet.unit").unwrap_or("value").to_string(),
                    key_name: types.tag(definition, "bpflet.key").unwrap_or("key").to_string(),
                });
            }
            None => out.plain.push(typed),
        }
    }
    Ok(out)
}

/// One element: its key and its value, one per CPU for per-CPU maps.
type Entry = (Vec<u8>, Vec<Vec<u8>>);

/// Every element of `map`. One batch lookup per page where the kernel
/// offers it, else a walk of the keys with one lookup each.
pub fn read_all(typed: &TypedMap) -> Result<Vec<Entry>, Error> {
    match read_batched(typed) {
        Ok(entries) => Ok(entries),
        Err(_) => read_by_keys(typed),
    }
}

/// Values per element: one per possible CPU for per-CPU maps, else one.
fn values_per_element(info: &MapInfo) -> usize {
    if info.per_cpu {
        info.possible_cpus.max(1) as usize
    } else {
        1
    }
}

/// One element's value bytes as one value per CPU: `lookup-per-cpu` and
/// batch pages alike hold them `value-size` bytes apart, CPU 0 first.
fn split_values(info: &MapInfo, element: &[u8]) -> Vec<Vec<u8>> {
    element.chunks(info.value_size.max(1) as usize).map(<[u8]>::to_vec).collect()
}

fn read_batched(typed: &TypedMap) -> Result<Vec<Entry>, Error> {
    let info = &typed.info;
    let key_size = info.key_size as usize;
    let stride = info.value_size as usize * values_per_element(info);
    let mut out = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    // Bounded, in case a cursor never ends.
    for _ in 0..(info.max_entries / PAGE + 2).saturating_mul(4) {
        let page = typed.map.lookup_batch(cursor.as_deref(), PAGE)?;
        let count = page.count as usize;
        if page.keys.len() != count * key_size || page.values.len() != count * stride {
            return Err(Error::InvalidArgument("batch page does not fit the map's sizes".into()));
        }
        for i in 0..count {
            let key = page.keys[i * key_size..][..key_size].to_vec();
            out.push((key, split_values(info, &page.values[i * stride..][..stride])));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
    Ok(out)
}

fn read_by_keys(typed: &TypedMap) -> Result<Vec<Entry>, Error> {
    let key_size = typed.info.key_size as usize;
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    for _ in 0..(typed.info.max_entries / PAGE + 2).saturating_mul(4) {
        let page = typed.map.keys(after.as_deref(), PAGE)?;
        if key_size == 0 || page.len() % key_size != 0 {
            return Err(Error::InvalidArgument("key page does not fit the map's key size".into()));
        }
        for key in page.chunks_exact(key_size) {
            if let Some(values) = lookup(typed, key)? {
                out.push((key.to_vec(), values));
            }
        }
        if page.len() < PAGE as usize * key_size {
            break;
        }
        after = Some(page[page.len() - key_size..].to_vec());
    }
    Ok(out)
}

/// The value under `key`, one per CPU for per-CPU maps.
fn lookup(typed: &TypedMap, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>, Error> {
    if typed.info.per_cpu {
        Ok(typed.map.lookup_per_cpu(key)?.map(|values| split_values(&typed.info, &values)))
    } else {
        Ok(typed.map.lookup(key)?.map(|value| vec![value]))
    }
}

/// Orders keys by their number when they are one, else by their bytes.
fn key_order((a, a_bytes): (&Value, &[u8]), (b, b_bytes): (&Value, &[u8])) -> Ordering {
    match (a.as_i128(), b.as_i128()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a_bytes.cmp(b_bytes),
    }
}

/// Every histogram map, printed: one histogram for an array of one
/// element, else one per key that has counts. One block of lines (text)
/// or one JSON line per histogram.
pub fn histograms(histograms: &[Histogram], types: &Types, json: bool) -> Vec<String> {
    let mut out = Vec::new();
    for h in histograms {
        let typed = &h.typed;
        let name = &typed.info.name;
        let single = is_array(&typed.info) && typed.info.max_entries == 1;
        let entries = if single {
            let key = 0u32.to_le_bytes().to_vec();
            lookup(typed, &key).map(|values| values.map(|values| vec![(key, values)]).unwrap_or_default())
        } else {
            read_all(typed)
        };
        let entries = match entries {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("reading histogram map {name}: {e}");
                continue;
            }
        };
        let mut decoded: Vec<(Value, Vec<u8>, Vec<u64>, Value)> = entries
            .into_iter()
            .map(|(key, values)| {
                // Per-CPU histograms: every slot summed over the CPUs.
                let value = sum_per_cpu(types, typed.value, &values);
                let slots = hist::slots(&h.layout, &value);
                (decode_or_guess(types, typed.key, &key), key, slots, decode(types, typed.value, &value))
            })
            .filter(|(_, _, slots, _)| single || slots.iter().any(|&c| c > 0))
            .collect();
        decoded.sort_by(|a, b| key_order((&a.0, &a.1), (&b.0, &b.1)));

        if decoded.is_empty() {
            if json {
                out.push(format!("{}\n", json!({"map": name, "histograms": 0})));
            } else {
                out.push(format!("{name}: (empty)\n"));
            }
            continue;
        }
        for (key, _, slots, value) in &decoded {
            if json {
                let key = (!single).then(|| key.to_json());
                out.push(format!("{}\n", hist::to_json(name, key, slots, h.scale, &h.unit)));
                continue;
            }
            let heading = if single {
                hist::heading(None, &h.key_name, value)
            } else {
                hist::heading(Some(key), &h.key_name, value)
            };
            let body = hist::render(slots, h.scale, &h.unit);
            let mut block = if heading.is_empty() { format!("{name}:\n") } else { format!("{name}: {heading}\n") };
            block += if body.is_empty() { "     (empty)\n" } else { &body };
            out.push(block);
        }
    }
    out
}

/// Column titles and cells of a decoded key or value: one per member of a
/// struct, else one called `title`.
fn columns_of(value: &Value, title: &str) -> (Vec<String>, Vec<String>, Vec<bool>) {
    let numeric = |v: &Value| matches!(v, Value::Unsigned(_) | Value::Signed(_) | Value::Float(_));
    match value {
        Value::Fields(fields) => (
            fields.iter().map(|(n, _)| n.to_uppercase()).collect(),
            fields.iter().map(|(_, v)| v.to_text()).collect(),
            fields.iter().map(|(_, v)| numeric(v)).collect(),
        ),
        other => (vec![title.into()], vec![other.to_text()], vec![numeric(other)]),
    }
}

/// `--print-maps`: every plain map as a table (or one JSON object each).
/// Array elements that are all zero are left out. Per-CPU integers are
/// summed over the CPUs; other per-CPU values print one row per CPU that
/// holds something.
pub fn plain(maps: &Maps, types: &Types, json: bool) -> Vec<String> {
    let mut out = Vec::new();
    for typed in &maps.plain {
        let name = &typed.info.name;
        let entries = match read_all(typed) {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("reading map {name}: {e}");
                continue;
            }
        };
        let summable = if typed.value == 0 {
            matches!(typed.info.value_size, 1 | 2 | 4 | 8)
        } else {
            matches!(types.scalar(typed.value), Some(Scalar::Int { .. }))
        };
        let split = typed.info.per_cpu && !summable;
        // (key, key bytes, CPU, value)
        let mut rows: Vec<(Value, Vec<u8>, Option<usize>, Value)> = Vec::new();
        for (key_bytes, values) in entries {
            let key = decode_or_guess(types, typed.key, &key_bytes);
            if split {
                for (cpu, bytes) in values.iter().enumerate() {
                    let value = decode_or_guess(types, typed.value, bytes);
                    if !value.is_zero() {
                        rows.push((key.clone(), key_bytes.clone(), Some(cpu), value));
                    }
                }
            } else {
                let value = decode_or_guess(types, typed.value, &sum_per_cpu(types, typed.value, &values));
                if !(is_array(&typed.info) && value.is_zero()) {
                    rows.push((key, key_bytes, None, value));
                }
            }
        }
        rows.sort_by(|a, b| key_order((&a.0, &a.1), (&b.0, &b.1)).then(a.2.cmp(&b.2)));
        if json {
            let entries: Vec<serde_json::Value> = rows
                .iter()
                .map(|(k, _, cpu, v)| match cpu {
                    Some(cpu) => json!({"key": k.to_json(), "cpu": cpu, "value": v.to_json()}),
                    None => json!({"key": k.to_json(), "value": v.to_json()}),
                })
                .collect();
            out.push(format!("{}\n", json!({"map": name, "entries": entries})));
            continue;
        }
        if rows.is_empty() {
            out.push(format!("{name}: (empty)\n"));
            continue;
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
        out.push(format!("{name}:\n{}", table::render(&titles, &right, &cells)));
    }
    if !json && !maps.unprintable.is_empty() {
        let names: Vec<String> =
            maps.unprintable.iter().map(|(name, map_type)| format!("{name} ({} map)", type_name(*map_type))).collect();
        out.push(format!("not printed: {}\n", names.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(per_cpu: bool, value_size: u32, possible_cpus: u32) -> MapInfo {
        MapInfo {
            name: "m".into(),
            map_type: if per_cpu { MapType::PercpuHash } else { MapType::Hash },
            key_size: 4,
            value_size,
            max_entries: 8,
            map_flags: 0,
            id: 1,
            possible_cpus,
            per_cpu,
        }
    }

    #[test]
    fn per_cpu_values_are_packed_value_size_apart() {
        let per_cpu = info(true, 4, 3);
        assert_eq!(values_per_element(&per_cpu), 3);
        let element: Vec<u8> = [1u32, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(split_values(&per_cpu, &element), vec![vec![1, 0, 0, 0], vec![2, 0, 0, 0], vec![3, 0, 0, 0]]);
        let plain = info(false, 4, 3);
        assert_eq!(values_per_element(&plain), 1);
        assert_eq!(split_values(&plain, &element[..4]), vec![vec![1, 0, 0, 0]]);
    }
}
