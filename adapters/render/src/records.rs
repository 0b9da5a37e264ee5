//! Records of ring and perf buffers as table rows (columns sized from the
//! record's type, so rows align before any record arrives) or JSON lines.

use bpflet_decode::text::push_u8_list;
use bpflet_decode::value::{decode, decode_field, hex, listed, read_uint, sign_extend, whole_int, whole_unsigned_byte};
use bpflet_decode::Types;
use bpflet_sdk::bindings::bpflet::ebpf::btf::{IntEncoding, Kind, Member};
use serde_json::json;

use crate::table::{self, Column, RowWriter};

/// How records of one buffer print.
pub struct Format {
    /// The record struct; none prints records as hex.
    pub record: Option<u32>,
    pub columns: Vec<Column>,
    /// The members of a struct or union record, one per column after
    /// TIME, each with how its cell prints.
    members: Option<Vec<(Member, Cell)>>,
}

/// How a member of a record prints in a table row.
enum Cell {
    /// Read where it lies, in a record long enough for it ([`Leaf::end`]):
    /// the common leaves, which print as [`decode_field`] would print them,
    /// without decoding a value.
    Direct(Leaf),
    /// Decoded by [`decode_field`].
    Decoded,
}

#[derive(Clone, Copy)]
enum Leaf {
    /// A whole integer of 1, 2, 4 or 8 bytes, `offset` bytes in.
    Int { offset: usize, size: usize, signed: bool },
    /// An array of `count` whole unsigned bytes (not `char`s).
    Bytes { offset: usize, count: usize },
}

impl Leaf {
    /// The leaf `member` (its type resolved) is, if it is one.
    fn of(types: &Types, member: &Member) -> Option<Self> {
        if member.bitfield_size != 0 || !member.bit_offset.is_multiple_of(8) {
            return None;
        }
        let offset = member.bit_offset as usize / 8;
        match types.kind(member.type_)? {
            Kind::Int(int) if matches!(int.size, 1 | 2 | 4 | 8) && whole_int(int) => {
                let signed = match int.encoding {
                    IntEncoding::Unsigned => false,
                    IntEncoding::Signed | IntEncoding::Char => true,
                    IntEncoding::Bool => return None,
                };
                Some(Leaf::Int { offset, size: int.size as usize, signed })
            }
            Kind::Array(a) if !types.is_char(a.element) => match types.kind(a.element)? {
                Kind::Int(int) if whole_unsigned_byte(int) => {
                    Some(Leaf::Bytes { offset, count: listed(a.count) as usize })
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Bytes a record needs for this leaf to print from them.
    fn end(self) -> usize {
        match self {
            Leaf::Int { offset, size, .. } => offset.saturating_add(size),
            // A record that ends where an empty array starts prints it as
            // missing (`-`), as decoding does: one byte past it is needed.
            Leaf::Bytes { offset, count } => offset.saturating_add(count.max(1)),
        }
    }

    /// The next cell of `row`, from a record at least [`Leaf::end`] long.
    fn write(self, bytes: &[u8], row: &mut RowWriter<'_>) {
        match self {
            Leaf::Int { offset, size, signed } => {
                let raw = read_uint(&bytes[offset..], size).unwrap_or_default();
                if signed {
                    row.int(sign_extend(raw, 8 * size as u32));
                } else {
                    row.uint(raw);
                }
            }
            Leaf::Bytes { offset, count } => row.cell(|out| push_u8_list(out, &bytes[offset..], count)),
        }
    }
}

impl Format {
    pub fn new(types: &Types, record: Option<u32>) -> Self {
        let columns = match record {
            Some(id) => table::record_columns(types, id),
            None => table::hex_columns(),
        };
        let members: Option<Vec<(Member, Cell)>> =
            record.filter(|&id| matches!(types.kind(id), Some(Kind::StructType(_) | Kind::UnionType(_)))).map(|id| {
                // Typedefs and modifiers followed once, not at every record.
                types
                    .fields(id)
                    .into_iter()
                    .map(|mut member| {
                        member.type_ = types.resolve(member.type_);
                        let cell = Leaf::of(types, &member).map_or(Cell::Decoded, Cell::Direct);
                        (member, cell)
                    })
                    .collect()
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
                row.str(clock);
                match &self.members {
                    Some(members) => {
                        for (member, cell) in members {
                            match cell {
                                Cell::Direct(leaf) if bytes.len() >= leaf.end() => leaf.write(bytes, &mut row),
                                _ => row.cell(|out| decode_field(types, member, bytes).write_text(out)),
                            }
                        }
                    }
                    None => row.cell(|out| decode(types, id, bytes).write_text(out)),
                }
                row.finish();
            }
            (None, true) => out.push_str(&json!({"size": bytes.len(), "data": hex(bytes)}).to_string()),
            (None, false) => {
                let mut row = RowWriter::new(out, &self.columns, scratch);
                row.str(clock);
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

    /// Every kind of direct leaf, signed and unsigned, at every size,
    /// beside members that decode.
    #[test]
    fn direct_cells_print_as_decoded_ones() {
        let mut b = Builder::new();
        let mut members = Vec::new();
        let mut offset = 0;
        for (size, name) in [(1, "u8"), (2, "u16"), (4, "u32"), (8, "u64")] {
            let unsigned = b.int(&format!("unsigned {name}"), size, IntEncoding::Unsigned);
            let signed = b.int(&format!("signed {name}"), size, IntEncoding::Signed);
            members.push((format!("u{size}"), unsigned, offset));
            members.push((format!("s{size}"), signed, offset + size));
            offset += 2 * size;
        }
        let byte = b.int("unsigned char", 1, IntEncoding::Unsigned);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let bytes = b.array(byte, 5);
        let comm = b.array(ch, 4);
        members.push(("flag".into(), boolean, offset));
        members.push(("c".into(), ch, offset + 1));
        members.push(("comm".into(), comm, offset + 2));
        members.push(("bytes".into(), bytes, offset + 6));
        // A char of the C encoding, and an empty array at the very end (a
        // flexible array member): `-` when the record stops there.
        let wide = b.int("char8_t", 1, IntEncoding::Char);
        let empty = b.array(byte, 0);
        members.push(("wide".into(), wide, offset + 11));
        members.push(("empty".into(), empty, offset + 12));
        let size = offset + 12;
        let named: Vec<(&str, u32, u32)> = members.iter().map(|(n, t, o)| (n.as_str(), *t, *o)).collect();
        let record = b.structure("mixed", size, &named);
        let types = b.build();
        let direct = Format::new(&types, Some(record));
        assert!(
            direct.members.iter().flatten().filter(|(_, cell)| matches!(cell, Cell::Direct(_))).count() == 12,
            "ten integers and the two byte arrays print directly"
        );
        let mut decoded = Format::new(&types, Some(record));
        for (_, cell) in decoded.members.iter_mut().flatten() {
            *cell = Cell::Decoded;
        }
        for fill in [0u8, 0x7f, 0x80, 0xff, 0x35] {
            let mut bytes: Vec<u8> = (0..size as u8).map(|i| fill.wrapping_add(i.wrapping_mul(37))).collect();
            bytes[size as usize - 7] = b'x';
            // Whole, padded and cut short (the last member, then more).
            for len in [size as usize, size as usize + 4, size as usize - 2, 9, 0] {
                let mut record = bytes.clone();
                record.resize(len, 0xee);
                let text = direct.record(&types, &record, false, "00:00:00");
                assert_eq!(text, decoded.record(&types, &record, false, "00:00:00"), "{record:?}");
            }
        }
        let ones = vec![0xffu8; size as usize];
        let row = direct.record(&types, &ones, false, "00:00:00");
        assert!(
            row.contains("18446744073709551615") && row.contains("-1  ") && row.contains("[255,255,255,255,255]"),
            "{row}"
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
