//! Aligned text tables: buffer records (columns sized from their types, so
//! rows align before any record arrives) and map dumps (sized from their
//! contents). Pure.

use bpflet_sdk::bindings::bpflet::ebpf::btf::{IntEncoding, Kind};

use bpflet_decode::btf::{int_is_signed, Types};
use bpflet_decode::text::{append, decimal_len, Cursor};

/// Columns are this far apart.
const GAP: &str = "  ";

/// Widest column a string gets in a record table; longer strings push the
/// rest of their row right rather than lose characters.
const MAX_STRING_WIDTH: usize = 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub title: String,
    pub width: usize,
    /// Numbers align right, the rest left.
    pub right: bool,
}

impl Column {
    fn new(title: String, content_width: usize, right: bool) -> Self {
        let width = content_width.max(title.len());
        Self { title, width, right }
    }
}

/// How wide a value of type `id` prints, and whether it aligns right.
/// Integers: as wide as their extreme value; strings: their length up to
/// 24; enums: their longest name; others: 0 (the title decides).
pub fn type_width(types: &Types, id: u32) -> (usize, bool) {
    match types.kind(id) {
        Some(Kind::Int(int)) if int.encoding == IntEncoding::Bool => (5, false),
        Some(Kind::Int(int)) if int.size <= 8 => {
            let bits = int.size * 8;
            let widest = if int_is_signed(int) {
                (-(1i128 << (bits - 1))).to_string()
            } else {
                ((1u128 << bits) - 1).to_string()
            };
            (widest.len(), true)
        }
        Some(Kind::Array(a)) if types.is_char(a.element) => ((a.count as usize).min(MAX_STRING_WIDTH), false),
        Some(Kind::EnumType(e)) => (e.values.iter().map(|v| v.name.len()).max().unwrap_or(0), false),
        Some(Kind::Ptr(_)) => (18, false),
        Some(Kind::Float(_)) => (12, true),
        _ => (0, false),
    }
}

/// Like [`type_width`], for a bitfield of `bits` bits.
fn bitfield_width(types: &Types, id: u32, bits: u32) -> (usize, bool) {
    let bits = bits.min(64);
    match types.kind(id) {
        Some(Kind::Int(int)) if int.encoding == IntEncoding::Bool => (5, false),
        Some(Kind::Int(int)) if int_is_signed(int) => ((-(1i128 << (bits - 1))).to_string().len(), true),
        Some(Kind::Int(_)) => (((1u128 << bits) - 1).to_string().len(), true),
        _ => type_width(types, id),
    }
}

/// The columns of a record table for the struct `record`: TIME, then one
/// per member (anonymous structs and unions flattened), titled in upper
/// case.
pub fn record_columns(types: &Types, record: u32) -> Vec<Column> {
    let mut columns = vec![Column::new("TIME".into(), 8, false)];
    for member in types.fields(record) {
        let (width, right) = match member.bitfield_size {
            0 => type_width(types, member.type_),
            bits => bitfield_width(types, member.type_, bits),
        };
        let title = if member.name.is_empty() { "_".into() } else { member.name.to_uppercase() };
        columns.push(Column::new(title, width, right));
    }
    columns
}

/// Columns of a record with no known type: TIME and the bytes in hex.
pub fn hex_columns() -> Vec<Column> {
    vec![Column::new("TIME".into(), 8, false), Column::new("DATA".into(), 0, false)]
}

/// Writes one line of a table into a buffer, cell by cell: each padded
/// to its column, two spaces apart; the last column is not padded on the
/// right, and the line ends in no spaces. Cells beyond the columns are
/// ignored, missing ones print empty.
pub struct RowWriter<'a> {
    out: &'a mut String,
    columns: &'a [Column],
    /// Where the line starts in `out`.
    start: usize,
    next: usize,
    /// A right-aligned cell is written here first, to measure it.
    scratch: &'a mut String,
}

impl<'a> RowWriter<'a> {
    pub fn new(out: &'a mut String, columns: &'a [Column], scratch: &'a mut String) -> Self {
        let start = out.len();
        Self { out, columns, start, next: 0, scratch }
    }

    /// The next cell, which `write` appends to the buffer it is given.
    pub fn cell(&mut self, write: impl FnOnce(&mut String)) {
        let Some(column) = self.columns.get(self.next) else {
            return;
        };
        if self.next > 0 {
            self.out.push_str(GAP);
        }
        self.next += 1;
        let last = self.next == self.columns.len();
        if column.right {
            self.scratch.clear();
            write(self.scratch);
            pad(self.out, column.width.saturating_sub(self.scratch.chars().count()));
            self.out.push_str(self.scratch);
        } else {
            let before = self.out.len();
            write(self.out);
            if !last {
                pad(self.out, column.width.saturating_sub(self.out[before..].chars().count()));
            }
        }
    }

    /// The next cell: the integer `n` in decimal, as `cell` would print
    /// it, written where it belongs without a detour through `scratch`.
    pub fn uint(&mut self, n: u64) {
        self.text(decimal_len(n), |c| c.u64(n));
    }

    /// Like [`RowWriter::uint`], for a signed integer.
    pub fn int(&mut self, n: i64) {
        self.text(decimal_len(n.unsigned_abs()) + usize::from(n < 0), |c| c.i64(n));
    }

    /// The next cell: `s`, as `cell` would print it.
    pub fn str(&mut self, s: &str) {
        let chars = if s.is_ascii() { s.len() } else { s.chars().count() };
        self.text(chars, |c| c.str(s));
    }

    /// The next cell, `chars` characters that `write` appends.
    fn text(&mut self, chars: usize, write: impl FnOnce(&mut Cursor<'_>)) {
        let Some(column) = self.columns.get(self.next) else {
            return;
        };
        let gap = self.next > 0;
        self.next += 1;
        let last = self.next == self.columns.len();
        let pad = column.width.saturating_sub(chars);
        // At most 4 bytes a character.
        append(self.out, GAP.len() + pad + 4 * chars, |c| {
            if gap {
                c.str(GAP);
            }
            if column.right {
                c.spaces(pad);
                write(c);
            } else {
                write(c);
                if !last {
                    c.spaces(pad);
                }
            }
        });
    }

    /// Ends the line (without a newline).
    pub fn finish(mut self) {
        while self.next < self.columns.len() {
            self.cell(|_| {});
        }
        let end = self.start + self.out[self.start..].trim_end().len();
        self.out.truncate(end);
    }
}

fn pad(out: &mut String, spaces: usize) {
    append(out, spaces, |c| c.spaces(spaces));
}

/// One line of a table, as [`RowWriter`] writes it.
pub fn row(columns: &[Column], cells: &[String]) -> String {
    let (mut line, mut scratch) = (String::new(), String::new());
    let mut writer = RowWriter::new(&mut line, columns, &mut scratch);
    for cell in cells {
        writer.cell(|out| out.push_str(cell));
    }
    writer.finish();
    line
}

/// The header line of `columns`.
pub fn header(columns: &[Column]) -> String {
    let titles: Vec<String> = columns.iter().map(|c| c.title.clone()).collect();
    row(columns, &titles)
}

/// A whole table whose column widths come from its contents.
pub fn render(titles: &[String], right: &[bool], rows: &[Vec<String>]) -> String {
    let columns: Vec<Column> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let widest = rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0);
            Column::new(title.clone(), widest, right.get(i).copied().unwrap_or(false))
        })
        .collect();
    let mut out = header(&columns);
    out.push('\n');
    for cells in rows {
        out += &row(&columns, cells);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpflet_decode::testing::Builder;

    #[test]
    fn record_columns_are_sized_from_types() {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let s64 = b.int("long", 8, IntEncoding::Signed);
        let u8_ = b.int("unsigned char", 1, IntEncoding::Unsigned);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let comm = b.array(ch, 16);
        let path = b.array(ch, 128);
        let mode = b.enumeration("mode", &[("MODE_ALL", 0), ("MODE_ROOT", 1)]);
        let event = b.structure(
            "event",
            192,
            &[
                ("pid", u32_, 0),
                ("delta", s64, 8),
                ("cpu", u8_, 16),
                ("flagged", boolean, 17),
                ("mode", mode, 20),
                ("comm", comm, 24),
                ("filename", path, 40),
            ],
        );
        let t = b.build();
        let columns = record_columns(&t, event);
        let summary: Vec<(&str, usize, bool)> = columns.iter().map(|c| (c.title.as_str(), c.width, c.right)).collect();
        assert_eq!(
            summary,
            [
                ("TIME", 8, false),
                ("PID", 10, true),
                ("DELTA", 20, true),
                ("CPU", 3, true),
                ("FLAGGED", 7, false),
                ("MODE", 9, false),
                ("COMM", 16, false),
                ("FILENAME", 24, false),
            ]
        );
        let cells = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lines = [
            header(&columns),
            row(&columns, &cells(&["12:00:01", "42", "-7", "3", "true", "MODE_ALL", "bash", "/usr/bin/ls"])),
        ];
        assert_eq!(
            lines,
            [
                "TIME             PID                 DELTA  CPU  FLAGGED  MODE       COMM              FILENAME",
                "12:00:01          42                    -7    3  true     MODE_ALL   bash              /usr/bin/ls",
            ]
        );
    }

    #[test]
    fn bitfields_are_as_wide_as_their_bits() {
        let mut b = Builder::new();
        let uint = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let int = b.int("int", 4, IntEncoding::Signed);
        let members = vec![
            bpflet_sdk::bindings::bpflet::ebpf::btf::Member {
                name: "small".into(),
                type_: uint,
                bit_offset: 0,
                bitfield_size: 3,
            },
            bpflet_sdk::bindings::bpflet::ebpf::btf::Member {
                name: "neg".into(),
                type_: int,
                bit_offset: 3,
                bitfield_size: 12,
            },
        ];
        let s = b
            .add("bits", Kind::StructType(bpflet_sdk::bindings::bpflet::ebpf::btf::CompositeType { size: 4, members }));
        let t = b.build();
        let widths: Vec<usize> = record_columns(&t, s).iter().map(|c| c.width).collect();
        assert_eq!(widths, [8, 5, 5]);
    }

    #[test]
    fn long_cells_push_right_instead_of_losing_text() {
        let columns = vec![Column::new("A".into(), 3, false), Column::new("B".into(), 2, true)];
        assert_eq!(row(&columns, &["abcdef".into(), "1".into()]), "abcdef   1");
    }

    #[test]
    fn renders_a_table_sized_from_its_contents() {
        let text = render(
            &["PID".into(), "COMM".into(), "COUNT".into()],
            &[true, false, true],
            &[vec!["1".into(), "systemd".into(), "12".into()], vec!["4242".into(), "sh".into(), "7".into()]],
        );
        assert_eq!(text, " PID  COMM     COUNT\n   1  systemd     12\n4242  sh           7\n");
    }
}
