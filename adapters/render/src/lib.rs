//! bpflet's built-in provider of `bpflet:ebpf/render`: prints records and
//! maps by their BTF types, with the kernel-only runner's rules (the
//! decoding itself is `bpflet-decode`, shared with the runner).
//!
//! Built for wasm32-unknown-unknown, it imports nothing but the WIT types
//! it uses: a plug-in with no capabilities at all.

mod map;
mod records;
mod table;

use std::rc::Rc;

use bpflet_decode::btf::Types;
use bpflet_decode::value::{decode_or_guess, Value};

use crate::bindings::exports::bpflet::ebpf::render::{
    self, BtfType, Entry, Error, Field, Format, MapContents, Span, TypeId,
};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "bpflet:ebpf/render-provider",
        with: {
            "bpflet:ebpf/btf@0.2.0": bpflet_sdk::bindings::bpflet::ebpf::btf,
            "bpflet:ebpf/types@0.2.0/error": bpflet_sdk::Error,
            "bpflet:ebpf/types@0.2.0/load-failure": bpflet_sdk::LoadFailure,
            "bpflet:ebpf/types@0.2.0/os-error": bpflet_sdk::OsError,
        },
    });
}

struct Provider;

impl render::Guest for Provider {
    type Types = TypesResource;
    type Records = RecordsResource;
}

/// The `types` resource: one object's BTF.
pub struct TypesResource {
    types: Rc<Types>,
}

/// A value decoded as `render.fields` describes it.
fn fields_of(value: Value<'_>) -> Vec<Field> {
    match value {
        Value::Fields(fields) => {
            fields.into_iter().map(|(name, v)| Field { name: name.into(), text: v.to_text() }).collect()
        }
        other => vec![Field { name: String::new(), text: other.to_text() }],
    }
}

impl render::GuestTypes for TypesResource {
    fn new(types: Vec<BtfType>) -> Self {
        Self { types: Rc::new(Types::new(types)) }
    }

    fn find(&self, name: String) -> Option<TypeId> {
        self.types.named(&name)
    }

    fn records(&self, record: Option<TypeId>, format: Format) -> Result<render::Records, Error> {
        if let Some(id) = record {
            if id == 0 || self.types.get(id).is_none() {
                return Err(Error::InvalidArgument(format!("type {id} is not one of the object's types")));
            }
        }
        Ok(render::Records::new(RecordsResource {
            types: Rc::clone(&self.types),
            format: records::Format::new(&self.types, record),
            json: format == Format::Json,
        }))
    }

    fn fields(&self, type_: TypeId, value: Vec<u8>) -> Vec<Field> {
        fields_of(decode_or_guess(&self.types, type_, &value))
    }

    fn json(&self, type_: TypeId, value: Vec<u8>) -> String {
        // Serializing a `Value` into a String cannot fail.
        serde_json::to_string(&decode_or_guess(&self.types, type_, &value)).unwrap_or_default()
    }

    fn key_order(&self, type_: TypeId, keys: Vec<Vec<u8>>) -> Vec<u32> {
        let decoded: Vec<Value<'_>> = keys.iter().map(|k| decode_or_guess(&self.types, type_, k)).collect();
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&a, &b| map::key_order((&decoded[a], &keys[a]), (&decoded[b], &keys[b])));
        order.into_iter().map(|i| i as u32).collect()
    }

    fn print_map(&self, contents: MapContents, format: Format) -> String {
        let entries = contents.entries.iter().map(|Entry { key, value }| (key.as_slice(), value.as_slice())).collect();
        let map = map::Contents {
            name: &contents.name,
            key_type: contents.key_type,
            value_type: contents.value_type,
            value_size: contents.value_size as usize,
            per_cpu: contents.per_cpu,
            array: contents.array,
            entries,
        };
        map::print(&self.types, &map, format == Format::Json)
    }
}

/// The `records` resource: how records of one buffer print.
pub struct RecordsResource {
    types: Rc<Types>,
    format: records::Format,
    json: bool,
}

impl render::GuestRecords for RecordsResource {
    fn header(&self) -> String {
        if self.json {
            String::new()
        } else {
            format!("{}\n", self.format.header())
        }
    }

    fn rows(&self, data: Vec<u8>, records: Vec<Span>, time: u64) -> String {
        let clock = if self.json { String::new() } else { bpflet_decode::clock(time) };
        let (mut text, mut scratch) = (String::new(), String::new());
        for span in &records {
            let record = spanned(&data, span);
            self.format.write_record(&self.types, record, self.json, &clock, &mut text, &mut scratch);
        }
        text
    }
}

/// The bytes of `data` that `span` covers, cut where `data` ends (as
/// `records.rows` says).
fn spanned<'d>(data: &'d [u8], span: &Span) -> &'d [u8] {
    let start = (span.offset as usize).min(data.len());
    let end = start.saturating_add(span.len as usize).min(data.len());
    &data[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_cut_where_the_data_ends() {
        let data = [1u8, 2, 3, 4];
        let cut = |offset, len| spanned(&data, &Span { offset, len }).to_vec();
        assert_eq!(cut(1, 2), [2, 3]);
        assert_eq!(cut(2, 9), [3, 4]);
        assert_eq!(cut(4, 1), [0u8; 0]);
        assert_eq!(cut(u32::MAX, u32::MAX), [0u8; 0]);
        assert_eq!(cut(0, u32::MAX), data);
    }
}

bindings::export!(Provider with_types_in bindings);
