//! The object's maps: which are buffers, histograms or plain maps, reading
//! them whole, and printing them through the plug-ins: histograms with
//! `histogram`, `--print-maps` tables with `render`.

use bpflet_decode::btf::Types;
use bpflet_decode::value::sum_per_cpu;
use bpflet_sdk::plugins::histogram::{self, Label, Scale};
use bpflet_sdk::plugins::render::{self, Entry, Format, MapContents};
use bpflet_sdk::{BpfMap, Error, MapInfo, MapType, Object};

use crate::hist::{self, Layout};

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

/// Every element of `map`. One batch lookup per page where the kernel
/// offers it, else a walk of the keys with one lookup each. The value of
/// a per-CPU map holds one value per CPU, `value-size` bytes apart.
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
fn split_values<'a>(info: &MapInfo, element: &'a [u8]) -> Vec<&'a [u8]> {
    element.chunks(info.value_size.max(1) as usize).collect()
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
            out.push(Entry { key, value: page.values[i * stride..][..stride].to_vec() });
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
            if let Some(value) = lookup(typed, key)? {
                out.push(Entry { key: key.to_vec(), value });
            }
        }
        if page.len() < PAGE as usize * key_size {
            break;
        }
        after = Some(page[page.len() - key_size..].to_vec());
    }
    Ok(out)
}

/// The value under `key`; for per-CPU maps one per CPU, `value-size` apart.
fn lookup(typed: &TypedMap, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    if typed.info.per_cpu {
        typed.map.lookup_per_cpu(key)
    } else {
        typed.map.lookup(key)
    }
}

/// Every histogram map, printed by the `histogram` plug-in: one histogram
/// for an array of one element, else one per key that has counts, in the
/// order `render` gives keys. One block of lines (text) or one JSON line
/// per histogram.
pub fn histograms(histograms: &[Histogram], types: &Types, printer: &render::Types, json: bool) -> Vec<String> {
    let mut out = Vec::new();
    for h in histograms {
        let typed = &h.typed;
        let name = &typed.info.name;
        let single = is_array(&typed.info) && typed.info.max_entries == 1;
        let entries = if single {
            let key = 0u32.to_le_bytes().to_vec();
            lookup(typed, &key).map(|value| value.map(|value| vec![Entry { key, value }]).unwrap_or_default())
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
        // Per-CPU histograms: every slot summed over the CPUs.
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut slots = Vec::new();
        for Entry { key, value } in entries {
            let value = sum_per_cpu(types, typed.value, &split_values(&typed.info, &value));
            let counts = hist::slots(&h.layout, &value);
            if single || counts.iter().any(|&c| c > 0) {
                keys.push(key);
                values.push(value);
                slots.push(counts);
            }
        }
        if keys.is_empty() {
            if json {
                out.push(format!("{}\n", serde_json::json!({"map": name, "histograms": 0})));
            } else {
                out.push(format!("{name}: (empty)\n"));
            }
            continue;
        }
        let key_refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        for i in printer.key_order(typed.key, &key_refs) {
            let i = i as usize;
            let printed = if json {
                let map = Label { name: "map".into(), json: serde_json::Value::from(name.as_str()).to_string() };
                let key = (!single).then(|| Label { name: "key".into(), json: printer.json(typed.key, &keys[i]) });
                let labels: Vec<&Label> = std::iter::once(&map).chain(&key).collect();
                histogram::json(&labels, &slots[i], h.scale, &h.unit).map(|line| format!("{line}\n"))
            } else {
                let key = if single { Vec::new() } else { printer.fields(typed.key, &keys[i]) };
                let heading = hist::heading(&key, &h.key_name, &printer.fields(typed.value, &values[i]));
                histogram::text(&slots[i], h.scale, &h.unit).map(|body| {
                    let mut block =
                        if heading.is_empty() { format!("{name}:\n") } else { format!("{name}: {heading}\n") };
                    block += if body.is_empty() { "     (empty)\n" } else { &body };
                    block
                })
            };
            match printed {
                Ok(text) => out.push(text),
                Err(e) => eprintln!("printing histogram map {name}: {e}"),
            }
        }
    }
    out
}

/// `--print-maps`: every plain map, printed by the `render` plug-in (a
/// table, or one JSON line each), then the maps it cannot print.
pub fn plain(maps: &Maps, printer: &render::Types, json: bool) -> Vec<String> {
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
        let contents = MapContents {
            name: name.clone(),
            key_type: typed.key,
            value_type: typed.value,
            value_size: typed.info.value_size,
            per_cpu: typed.info.per_cpu,
            array: is_array(&typed.info),
            entries,
        };
        out.push(printer.print_map(&contents, if json { Format::Json } else { Format::Table }));
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
        assert_eq!(split_values(&per_cpu, &element), [[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0]]);
        let plain = info(false, 4, 3);
        assert_eq!(values_per_element(&plain), 1);
        assert_eq!(split_values(&plain, &element[..4]), [[1, 0, 0, 0]]);
    }
}
