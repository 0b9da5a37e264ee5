//! Ring and perf buffers: which struct each carries, and printing their
//! records as table rows or JSON lines.

use bpflet_sdk::{EventBuffer, MapInfo, Object};
use serde_json::json;

use crate::btf::{record_type, GlobalRef, RecordSource, Types};
use crate::table::{self, Column};
use crate::value::{decode, hex, Value};

/// How records of one buffer print.
pub struct Format {
    /// The record struct; none prints records as hex.
    pub record: Option<u32>,
    pub columns: Vec<Column>,
}

impl Format {
    pub fn new(types: &Types, record: Option<u32>) -> Self {
        let columns = match record {
            Some(id) => table::record_columns(types, id),
            None => table::hex_columns(),
        };
        Self { record, columns }
    }

    pub fn header(&self) -> String {
        table::header(&self.columns)
    }

    /// One record as a table row (after the time `clock`) or a JSON line.
    /// A record may be longer than its struct (perf buffers pad them): it
    /// is read from the start.
    pub fn record(&self, types: &Types, bytes: &[u8], json: bool, clock: &str) -> String {
        match (self.record, json) {
            (Some(id), true) => decode(types, id, bytes).to_json().to_string(),
            (Some(id), false) => {
                let mut cells = vec![clock.to_string()];
                match decode(types, id, bytes) {
                    Value::Fields(fields) => cells.extend(fields.iter().map(|(_, v)| v.to_text())),
                    other => cells.push(other.to_text()),
                }
                table::row(&self.columns, &cells)
            }
            (None, true) => json!({"size": bytes.len(), "data": hex(bytes)}).to_string(),
            (None, false) => table::row(&self.columns, &[clock.to_string(), hex(bytes)]),
        }
    }
}

/// An open buffer and how to print its records.
pub struct Source {
    pub map: String,
    pub buffer: EventBuffer,
    pub format: Format,
}

/// Opens every ring and perf buffer among `maps`, working out the record
/// type of each. Call before attaching: a perf buffer loses what is
/// written while nobody reads it.
pub fn open_all(
    object: &Object,
    types: &Types,
    maps: &[MapInfo],
    globals: &[GlobalRef<'_>],
) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for info in maps.iter().filter(|m| crate::maps::is_buffer(m)) {
        let definition = object.raw().map_types(&info.name).map(|t| t.definition).unwrap_or(0);
        let record = match record_type(types, definition, globals) {
            Ok(Some((id, source))) => {
                if let RecordSource::Pointer(name) = &source {
                    // Several buffers share the one pointer: say so, once.
                    if maps.iter().filter(|m| crate::maps::is_buffer(m)).count() > 1 {
                        eprintln!(
                            "note: buffer {} prints records as struct {} (from the global {name}); \
                             tag the map with bpflet.record=<struct> to choose",
                            info.name,
                            types.get(id).map_or("?", |t| t.name.as_str())
                        );
                    }
                }
                Some(id)
            }
            Ok(None) => {
                eprintln!(
                    "note: no record type for buffer {}: printing records as hex (tag the map with \
                     bpflet.record=<struct>, or declare `struct <name> *unused_event __attribute__((unused));`)",
                    info.name
                );
                None
            }
            Err(why) => {
                eprintln!("note: buffer {}: {why}; printing records as hex", info.name);
                None
            }
        };
        let map = object.map(&info.name).map_err(|e| format!("opening map {}: {e}", info.name))?;
        let buffer = EventBuffer::open(&map).map_err(|e| format!("opening buffer {}: {e}", info.name))?;
        sources.push(Source { map: info.name.clone(), buffer, format: Format::new(types, record) });
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::testing::Builder;
    use bpflet_sdk::bindings::bpflet::ebpf::btf::IntEncoding;

    /// `struct exec_event` of guests/bpf/exectrace.h.
    fn exec_event() -> (Types, u32) {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let comm = b.array(ch, 16);
        let filename = b.array(ch, 128);
        let event = b.structure(
            "exec_event",
            160,
            &[
                ("pid", u32_, 0),
                ("ppid", u32_, 4),
                ("uid", u32_, 8),
                ("flagged", boolean, 12),
                ("comm", comm, 13),
                ("filename", filename, 29),
            ],
        );
        (b.build(), event)
    }

    fn record() -> Vec<u8> {
        let mut bytes = vec![0u8; 160];
        bytes[0..4].copy_from_slice(&4242u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&1u32.to_le_bytes());
        bytes[12] = 1;
        bytes[13..16].copy_from_slice(b"env");
        bytes[29..41].copy_from_slice(b"/usr/bin/env");
        bytes
    }

    #[test]
    fn table_rows_align_under_the_header() {
        let (types, event) = exec_event();
        let format = Format::new(&types, Some(event));
        assert_eq!(
            format.header(),
            "TIME             PID        PPID         UID  FLAGGED  COMM              FILENAME"
        );
        assert_eq!(
            format.record(&types, &record(), false, "10:11:12"),
            "10:11:12        4242           1           0  true     env               /usr/bin/env"
        );
    }

    #[test]
    fn json_lines_keyed_by_member() {
        let (types, event) = exec_event();
        let format = Format::new(&types, Some(event));
        // A perf record: padded past the struct.
        let mut padded = record();
        padded.extend([0xee; 4]);
        assert_eq!(
            format.record(&types, &padded, true, ""),
            r#"{"pid":4242,"ppid":1,"uid":0,"flagged":true,"comm":"env","filename":"/usr/bin/env"}"#
        );
    }

    #[test]
    fn unknown_records_print_as_hex() {
        let (types, _) = exec_event();
        let format = Format::new(&types, None);
        assert_eq!(format.header(), "TIME      DATA");
        assert_eq!(format.record(&types, &[1, 0xab], false, "00:00:01"), "00:00:01  01ab");
        assert_eq!(format.record(&types, &[1, 0xab], true, ""), r#"{"size":2,"data":"01ab"}"#);
    }
}
