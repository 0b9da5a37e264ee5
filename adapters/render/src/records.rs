//! Records of ring and perf buffers as table rows (columns sized from the
//! record's type, so rows align before any record arrives) or JSON lines.

use bpflet_decode::value::{decode, decode_field, hex};
use bpflet_decode::Types;
use bpflet_sdk::bindings::bpflet::ebpf::btf::{Kind, Member};
use serde_json::json;

use crate::table::{self, Column, RowWriter};

/// How records of one buffer print.
pub struct Format {
    /// The record struct; none prints records as hex.
    pub record: Option<u32>,
    pub columns: Vec<Column>,
    /// The members of a struct or union record, one per column after
    /// TIME: a row decodes them one by one into its cells.
    members: Option<Vec<Member>>,
}

impl Format {
    pub fn new(types: &Types, record: Option<u32>) -> Self {
        let columns = match record {
            Some(id) => table::record_columns(types, id),
            None => table::hex_columns(),
        };
        let members =
            record.filter(|&id| matches!(types.kind(id), Some(Kind::StructType(_) | Kind::UnionType(_)))).map(|id| {
                // Typedefs and modifiers followed once, not at every record.
                let mut members = types.fields(id);
                for member in &mut members {
                    member.type_ = types.resolve(member.type_);
                }
                members
            });
        Self { record, columns, members }
    }

    pub fn header(&self) -> String {
        table::header(&self.columns)
    }

    /// Appends one record as a table row (after the time `clock`) or a
    /// JSON line, newline included, to `out`; `scratch` is any buffer,
    /// reused from record to record. A record may be longer than its
    /// struct (perf buffers pad them): it is read from the start.
    pub fn write_record(
        &self,
        types: &Types,
        bytes: &[u8],
        json: bool,
        clock: &str,
        out: &mut String,
        scratch: &mut String,
    ) {
        match (self.record, json) {
            (Some(id), true) => {
                // Serializing a `Value` into a String cannot fail.
                out.push_str(&serde_json::to_string(&decode(types, id, bytes)).unwrap_or_default());
            }
            (Some(id), false) => {
                let mut row = RowWriter::new(out, &self.columns, scratch);
                row.cell(|out| out.push_str(clock));
                match &self.members {
                    Some(members) => {
                        for member in members {
                            row.cell(|out| decode_field(types, member, bytes).write_text(out));
                        }
                    }
                    None => row.cell(|out| decode(types, id, bytes).write_text(out)),
                }
                row.finish();
            }
            (None, true) => out.push_str(&json!({"size": bytes.len(), "data": hex(bytes)}).to_string()),
            (None, false) => {
                let mut row = RowWriter::new(out, &self.columns, scratch);
                row.cell(|out| out.push_str(clock));
                row.cell(|out| out.push_str(&hex(bytes)));
                row.finish();
            }
        }
        out.push('\n');
    }

    /// One record as [`Format::write_record`] prints it, without the newline.
    #[cfg(test)]
    fn record(&self, types: &Types, bytes: &[u8], json: bool, clock: &str) -> String {
        let (mut out, mut scratch) = (String::new(), String::new());
        self.write_record(types, bytes, json, clock, &mut out, &mut scratch);
        out.pop();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpflet_decode::testing::Builder;
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
