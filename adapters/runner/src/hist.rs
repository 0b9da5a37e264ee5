//! Histograms: maps whose value is a struct with an integer array member
//! `slots`: finding them, reading their slots, and the line that names
//! each. The `histogram` plug-in prints them. Pure.

use bpflet_decode::btf::{int_is_signed, Types};
use bpflet_decode::value::read_uint;
use bpflet_sdk::bindings::bpflet::ebpf::btf::{IntEncoding, Kind};
use bpflet_sdk::plugins::histogram::{LinearScale, Scale};
use bpflet_sdk::plugins::render::Field;

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
            (Ok(min), Ok(step)) if step > 0 => Ok(Scale::Linear(LinearScale { min, step })),
            _ => Err(format!("bpflet.hist={tag}: expected linear:<min>:<step> with integers, step > 0")),
        },
        _ => Err(format!("bpflet.hist={tag}: expected log2 or linear:<min>:<step>")),
    }
}

/// The line that names one histogram of a map with several: the key
/// (`pid = 1234`, or each member of a struct key) and the value's members
/// other than `slots` (`comm = bash`), as the `render` plug-in decodes
/// them. `key_name` names a scalar key.
pub fn heading(key: &[Field], key_name: &str, value: &[Field]) -> String {
    let mut parts = Vec::new();
    for field in key {
        let name = if field.name.is_empty() { key_name } else { &field.name };
        parts.push(format!("{name} = {}", field.text));
    }
    parts.extend(
        value.iter().filter(|f| !f.name.is_empty() && f.name != "slots").map(|f| format!("{} = {}", f.name, f.text)),
    );
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpflet_decode::testing::Builder;

    #[test]
    fn scale_from_the_tag() {
        assert!(matches!(scale(None), Ok(Scale::Log2)));
        assert!(matches!(scale(Some("linear:100:10")), Ok(Scale::Linear(LinearScale { min: 100, step: 10 }))));
        assert!(scale(Some("linear:1:0")).is_err());
        assert!(scale(Some("cubic")).is_err());
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
        let field = |name: &str, text: &str| Field { name: name.into(), text: text.into() };
        let value = [field("slots", "[]"), field("comm", "bash")];
        assert_eq!(heading(&[field("", "1234")], "pid", &value), "pid = 1234, comm = bash");
        let key = [field("pid", "1"), field("cpu", "2")];
        assert_eq!(heading(&key, "key", &[field("", "-")]), "pid = 1, cpu = 2");
    }
}
