//! Decoding bytes by their BTF type into values, and printing them as
//! table cells or JSON. Pure.
//!
//! Values are read little-endian, the byte order of every machine bpflet
//! runs BPF on (x86-64, arm64, riscv64, ...) and of wasm itself.
//!
//! Printing streams: a value writes its text into a buffer the caller
//! reuses ([`Value::write_text`]) and serializes straight to JSON text
//! ([`Value`] is `Serialize`); names, strings and arrays of integers are
//! borrowed from the types and the bytes, so that printing a record costs
//! no allocation per member.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;

use bpflet_sdk::bindings::bpflet::ebpf::btf::{IntEncoding, IntType, Kind, Member};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;

use crate::btf::{int_is_signed, Types};
use crate::text::{push_hex, push_i64, push_u64, push_u8_list};

/// The element type of [`Value::Ints`] (compared by its fields).
#[derive(Clone, Copy, Debug)]
pub struct Int<'t>(pub &'t IntType);

impl PartialEq for Int<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        (a.size, a.encoding, a.bit_offset, a.bits) == (b.size, b.encoding, b.bit_offset, b.bits)
    }
}

/// A decoded value, borrowing from the types and the bytes (`'t`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'t> {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    /// A `char` array up to its first NUL (invalid UTF-8 replaced).
    Str(Cow<'t, str>),
    /// An enum: the enumerator's name when the value has one.
    Enum {
        name: Option<&'t str>,
        value: i64,
    },
    Pointer(u64),
    List(Vec<Value<'t>>),
    /// An array of `count` integers of type `int`, read from `bytes` as
    /// they are listed ([`Value::ints`]): histogram slots, byte arrays.
    Ints {
        int: Int<'t>,
        count: u32,
        bytes: &'t [u8],
    },
    /// A struct or union: its members in declaration order.
    Fields(Vec<(&'t str, Value<'t>)>),
    /// Bytes of a type with no better reading (or no BTF at all).
    Bytes(&'t [u8]),
    /// The bytes ran out before this value.
    Missing,
}

/// Decodes the value of type `id` at the start of `bytes` (which may be
/// longer, like a padded perf record, or shorter: what is cut off reads
/// as [`Value::Missing`]).
pub fn decode<'t>(types: &'t Types, id: u32, bytes: &'t [u8]) -> Value<'t> {
    decode_at_depth(types, id, bytes, 0, &Cell::new(MAX_NODES))
}

/// The most values one `decode` makes: far more than a record's or a map
/// value's, and a bound on the work of a hostile BTF (a struct whose
/// members are the struct again would otherwise take exponential time).
/// Past it, values read as missing and arrays are cut short.
const MAX_NODES: u32 = 1 << 20;

/// `left`: how many more values this decoding may make.
fn decode_at_depth<'t>(types: &'t Types, id: u32, bytes: &'t [u8], depth: u32, left: &Cell<u32>) -> Value<'t> {
    if depth > 32 || left.get() == 0 {
        return Value::Missing;
    }
    left.set(left.get() - 1);
    let Some(t) = types.concrete(id) else {
        return Value::Bytes(bytes);
    };
    match &t.kind {
        Kind::Int(int) => decode_int(int, bytes),
        Kind::EnumType(e) => {
            let Some(raw) = read_uint(bytes, e.size as usize) else {
                return Value::Missing;
            };
            let value = if e.signed { sign_extend(raw, e.size.saturating_mul(8)) } else { raw as i64 };
            enumerator(&e.values, value)
        }
        Kind::Ptr(_) => read_uint(bytes, 8).map_or(Value::Missing, Value::Pointer),
        Kind::Float(4) => match bytes.get(..4) {
            Some(b) => Value::Float(f64::from(f32::from_le_bytes(b.try_into().unwrap_or_default()))),
            None => Value::Missing,
        },
        Kind::Float(8) => match bytes.get(..8) {
            Some(b) => Value::Float(f64::from_le_bytes(b.try_into().unwrap_or_default())),
            None => Value::Missing,
        },
        Kind::Array(a) if types.is_char(a.element) => {
            if bytes.is_empty() && a.count > 0 {
                return Value::Missing;
            }
            let text = &bytes[..bytes.len().min(a.count as usize)];
            let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
            Value::Str(String::from_utf8_lossy(&text[..end]))
        }
        Kind::Array(a) => {
            let size = types.size_of(a.element).unwrap_or(0) as usize;
            if size == 0 {
                return Value::List(Vec::new());
            }
            match types.kind(a.element) {
                // Integers (histogram slots, byte arrays): read where they
                // lie when printed, the element type resolved once.
                Some(Kind::Int(int)) => Value::Ints { int: Int(int), count: listed(a.count), bytes },
                _ => Value::List(
                    (0..listed(a.count) as usize)
                        .map_while(|i| {
                            (left.get() > 0).then(|| match bytes.get(i.saturating_mul(size)..) {
                                Some(rest) if !rest.is_empty() => {
                                    decode_at_depth(types, a.element, rest, depth + 1, left)
                                }
                                _ => Value::Missing,
                            })
                        })
                        .collect(),
                ),
            }
        }
        Kind::StructType(c) | Kind::UnionType(c) => {
            let mut fields = Vec::with_capacity(c.members.len());
            push_fields(types, &c.members, 0, bytes, depth, left, &mut fields);
            Value::Fields(fields)
        }
        _ => {
            let size = types.size_of(id).map_or(bytes.len(), |s| s as usize);
            Value::Bytes(&bytes[..size.min(bytes.len())])
        }
    }
}

/// Decodes `members` (at `base` bits into `bytes`) into `out`, the
/// members of anonymous structs and unions in their place, as
/// [`Types::fields`] lists them.
fn push_fields<'t>(
    types: &'t Types,
    members: &'t [Member],
    base: u32,
    bytes: &'t [u8],
    depth: u32,
    left: &Cell<u32>,
    out: &mut Vec<(&'t str, Value<'t>)>,
) {
    for member in members {
        // Each member counts, anonymous ones included: flattening a struct
        // into itself must not take exponential time either.
        if left.get() == 0 {
            return;
        }
        left.set(left.get() - 1);
        let offset = base.saturating_add(member.bit_offset);
        if member.name.is_empty() && depth < 32 {
            if let Some(Kind::StructType(inner) | Kind::UnionType(inner)) = types.kind(member.type_) {
                push_fields(types, &inner.members, offset, bytes, depth + 1, left, out);
                continue;
            }
        }
        out.push((member_name(member), decode_member(types, member, offset, bytes, depth, left)));
    }
}

/// One member of a struct, as [`Types::fields`] lists it (its offset from
/// the start of `bytes`), decoded as the struct's decoding would.
pub fn decode_field<'t>(types: &'t Types, member: &Member, bytes: &'t [u8]) -> Value<'t> {
    decode_member(types, member, member.bit_offset, bytes, 0, &Cell::new(MAX_NODES))
}

fn member_name(member: &Member) -> &str {
    if member.name.is_empty() {
        UNNAMED
    } else {
        &member.name
    }
}

/// One member, `offset` bits into `bytes`.
fn decode_member<'t>(
    types: &'t Types,
    member: &Member,
    offset: u32,
    bytes: &'t [u8],
    depth: u32,
    left: &Cell<u32>,
) -> Value<'t> {
    if member.bitfield_size == 0 {
        return match bytes.get(offset as usize / 8..) {
            Some(rest) if !rest.is_empty() => decode_at_depth(types, member.type_, rest, depth + 1, left),
            _ => Value::Missing,
        };
    }
    let width = member.bitfield_size;
    let Some(raw) = read_bits(bytes, offset, width) else {
        return Value::Missing;
    };
    match types.kind(member.type_) {
        Some(Kind::Int(IntType { encoding: IntEncoding::Bool, .. })) => Value::Bool(raw != 0),
        Some(Kind::Int(int)) if int_is_signed(int) => Value::Signed(sign_extend(raw, width)),
        Some(Kind::EnumType(e)) => {
            let value = if e.signed { sign_extend(raw, width) } else { raw as i64 };
            enumerator(&e.values, value)
        }
        _ => Value::Unsigned(raw),
    }
}

/// An integer type's value: what [`decode_int`] makes a [`Value`] of, and
/// what an array of integers prints element by element.
#[derive(Clone, Copy)]
enum Number<'t> {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    /// Wider than 64 bits: its bytes.
    Wide(&'t [u8]),
}

/// The integer of type `int` at the start of `bytes`; none when they are
/// too short.
fn read_int<'t>(int: &IntType, bytes: &'t [u8]) -> Option<Number<'t>> {
    if int.size > 8 {
        return bytes.get(..int.size as usize).map(Number::Wide);
    }
    let mut raw = read_uint(bytes, int.size as usize)?;
    let mut bits = int.size.saturating_mul(8);
    // The old way of encoding a bitfield: in the int type itself.
    if int.bits != 0 && (int.bits < bits || int.bit_offset != 0) {
        raw = (raw >> int.bit_offset.min(63)) & mask(int.bits);
        bits = int.bits;
    }
    Some(match int.encoding {
        IntEncoding::Bool => Number::Bool(raw != 0),
        IntEncoding::Signed | IntEncoding::Char => Number::Signed(sign_extend(raw, bits)),
        IntEncoding::Unsigned => Number::Unsigned(raw),
    })
}

fn decode_int<'t>(int: &IntType, bytes: &'t [u8]) -> Value<'t> {
    match read_int(int, bytes) {
        Some(Number::Bool(b)) => Value::Bool(b),
        Some(Number::Unsigned(n)) => Value::Unsigned(n),
        Some(Number::Signed(n)) => Value::Signed(n),
        Some(Number::Wide(b)) => Value::Bytes(b),
        None => Value::Missing,
    }
}

fn enumerator(values: &[bpflet_sdk::bindings::bpflet::ebpf::btf::Enumerator], value: i64) -> Value<'_> {
    Value::Enum { name: values.iter().find(|e| e.value == value).map(|e| e.name.as_str()), value }
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `raw`'s low `bits` bits as a two's complement number.
pub fn sign_extend(raw: u64, bits: u32) -> i64 {
    if bits == 0 || bits >= 64 {
        return raw as i64;
    }
    let shift = 64 - bits;
    ((raw << shift) as i64) >> shift
}

/// Most elements of an array that decode and print: an object's BTF may
/// declare any count (up to 2^32), and a cell of billions of elements
/// would exhaust the printer's memory first.
pub const MAX_ELEMENTS: u32 = 1 << 16;

/// The elements of an array of `count` that are decoded and printed.
pub fn listed(count: u32) -> u32 {
    count.min(MAX_ELEMENTS)
}

/// Whether `int` is whole: all of its bytes, not a bitfield encoded in the
/// int type itself.
pub fn whole_int(int: &IntType) -> bool {
    int.bit_offset == 0 && (int.bits == 0 || int.bits == int.size.saturating_mul(8))
}

/// Whether `int` is a whole unsigned byte: what byte arrays print as,
/// through [`push_u8_list`].
pub fn whole_unsigned_byte(int: &IntType) -> bool {
    int.size == 1 && int.encoding == IntEncoding::Unsigned && whole_int(int)
}

/// A little-endian unsigned integer of `size` (at most 8) bytes.
pub fn read_uint(bytes: &[u8], size: usize) -> Option<u64> {
    let b = bytes.get(..size).filter(|_| size <= 8)?;
    // One load for the common sizes.
    Some(match size {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => b.iter().rev().fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte)),
    })
}

/// `width` bits (at most 64) starting `offset` bits into `bytes`.
fn read_bits(bytes: &[u8], offset: u32, width: u32) -> Option<u64> {
    if width == 0 || width > 64 {
        return None;
    }
    let first = offset as usize / 8;
    let last = (offset as usize + width as usize - 1) / 8;
    let span = bytes.get(first..=last)?;
    let raw = span.iter().rev().fold(0u128, |acc, &byte| (acc << 8) | u128::from(byte));
    Some(((raw >> (offset % 8)) as u64) & mask(width))
}

fn write_uint(bytes: &mut [u8], value: u64) {
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (value >> (8 * i)) as u8;
    }
}

/// Merges one value per CPU into one: every integer in the value (also
/// inside structs and arrays, histogram slots above all) is the sum over
/// the CPUs; anything else comes from the first CPU. Without BTF (`id`
/// 0), a value of 1, 2, 4 or 8 bytes is summed as an integer.
pub fn sum_per_cpu<V: AsRef<[u8]>>(types: &Types, id: u32, values: &[V]) -> Vec<u8> {
    let Some(first) = values.first().map(AsRef::as_ref) else {
        return Vec::new();
    };
    let mut leaves = Vec::new();
    if id == 0 {
        if matches!(first.len(), 1 | 2 | 4 | 8) {
            leaves.push((0, first.len()));
        }
    } else {
        int_leaves(types, id, &mut leaves);
    }
    let mut out = first.to_vec();
    for (offset, size) in leaves {
        let Some(slot) = offset.checked_add(size).and_then(|end| out.get_mut(offset..end)) else {
            continue;
        };
        let sum =
            values.iter().filter_map(|v| read_uint(v.as_ref().get(offset..)?, size)).fold(0u64, u64::wrapping_add);
        write_uint(slot, sum);
    }
    out
}

/// The most integers `int_leaves` lists: more than any value has that is
/// summed across CPUs, and with `MAX_VISITS`, a bound on the work a
/// hostile BTF can cause.
const MAX_LEAVES: usize = 1 << 16;
/// The most types `int_leaves` looks at: a struct whose members are the
/// struct again would otherwise take exponential time.
const MAX_VISITS: usize = 1 << 18;

/// (offset, size) of every integer that makes up type `id`, up to
/// `MAX_LEAVES` of them.
fn int_leaves(types: &Types, id: u32, out: &mut Vec<(usize, usize)>) {
    let mut visits = 0;
    leaves_at(types, id, 0, out, 0, &mut visits);
}

fn leaves_at(types: &Types, id: u32, base: usize, out: &mut Vec<(usize, usize)>, depth: u32, visits: &mut usize) {
    *visits += 1;
    if depth > 32 || out.len() >= MAX_LEAVES || *visits > MAX_VISITS {
        return;
    }
    match types.kind(id) {
        Some(Kind::Int(int)) if int.encoding != IntEncoding::Bool && int.size <= 8 && !types.is_char(id) => {
            out.push((base, int.size as usize))
        }
        Some(Kind::Array(a)) if !types.is_char(a.element) => {
            let size = types.size_of(a.element).unwrap_or(0) as usize;
            // One element's leaves, then as many copies as fit: an array
            // of four billion elements with none is no work at all.
            let mut element = Vec::new();
            leaves_at(types, a.element, 0, &mut element, depth + 1, visits);
            if size == 0 || element.is_empty() {
                return;
            }
            for i in 0..a.count as usize {
                let at = base.saturating_add(i.saturating_mul(size));
                for &(offset, len) in &element {
                    if out.len() >= MAX_LEAVES {
                        return;
                    }
                    out.push((at.saturating_add(offset), len));
                }
            }
        }
        Some(Kind::StructType(c)) => {
            for m in c.members.iter().filter(|m| m.bitfield_size == 0) {
                leaves_at(types, m.type_, base.saturating_add(m.bit_offset as usize / 8), out, depth + 1, visits);
            }
        }
        _ => {}
    }
}

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    push_hex(&mut out, bytes);
    out
}

/// The name members without one print under (padding bitfields).
const UNNAMED: &str = "_";

impl<'t> Value<'t> {
    /// The elements of [`Value::Ints`] (none for other values): each
    /// decoded where it lies, [`Value::Missing`] past the end of the bytes.
    pub fn ints(&self) -> impl Iterator<Item = Value<'t>> + '_ {
        let (int, count, bytes) = match self {
            Value::Ints { int, count, bytes } => (Some(int.0), *count as usize, *bytes),
            _ => (None, 0, &[][..]),
        };
        let size = int.map_or(1, |int| int.size.max(1) as usize);
        (0..count).map(move |i| match (int, bytes.get(i.saturating_mul(size)..)) {
            (Some(int), Some(rest)) if !rest.is_empty() => decode_int(int, rest),
            _ => Value::Missing,
        })
    }

    /// The value as JSON (what it serializes to, as a tree).
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// The value as one table cell: no line breaks, control characters
    /// escaped, structs as `{a=1 b=x}`, arrays as `[1,2]`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    /// Appends [`Value::to_text`] to `out`.
    pub fn write_text(&self, out: &mut String) {
        match self {
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Unsigned(n) => push_u64(out, *n),
            Value::Signed(n) | Value::Enum { name: None, value: n } => push_i64(out, *n),
            Value::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Value::Str(s) => {
                for c in s.chars() {
                    if c.is_control() {
                        out.extend(c.escape_default());
                    } else {
                        out.push(c);
                    }
                }
            }
            Value::Enum { name: Some(name), .. } => out.push_str(name),
            Value::Pointer(p) => {
                let _ = write!(out, "{p:#x}");
            }
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_text(out);
                }
                out.push(']');
            }
            Value::Ints { int, count, bytes } => {
                // As `ints()` reads them, without making a value of each;
                // the common case, whole unsigned bytes, in a loop of its own.
                if whole_unsigned_byte(int.0) {
                    push_u8_list(out, bytes, *count as usize);
                    return;
                }
                out.push('[');
                let size = int.0.size.max(1) as usize;
                for i in 0..*count as usize {
                    if i > 0 {
                        out.push(',');
                    }
                    match bytes
                        .get(i.saturating_mul(size)..)
                        .filter(|rest| !rest.is_empty())
                        .and_then(|rest| read_int(int.0, rest))
                    {
                        Some(Number::Bool(b)) => out.push_str(if b { "true" } else { "false" }),
                        Some(Number::Unsigned(n)) => push_u64(out, n),
                        Some(Number::Signed(n)) => push_i64(out, n),
                        Some(Number::Wide(b)) => push_hex(out, b),
                        None => out.push('-'),
                    }
                }
                out.push(']');
            }
            Value::Fields(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(name);
                    out.push('=');
                    value.write_text(out);
                }
                out.push('}');
            }
            Value::Bytes(bytes) => push_hex(out, bytes),
            Value::Missing => out.push('-'),
        }
    }

    /// The value as a whole number, when it is one.
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Value::Unsigned(n) | Value::Pointer(n) => Some(i128::from(*n)),
            Value::Signed(n) | Value::Enum { value: n, .. } => Some(i128::from(*n)),
            Value::Bool(b) => Some(i128::from(*b)),
            _ => None,
        }
    }

    /// Whether every part of the value is zero or empty (an array
    /// element nobody wrote).
    pub fn is_zero(&self) -> bool {
        match self {
            Value::Bool(b) => !b,
            Value::Unsigned(n) | Value::Pointer(n) => *n == 0,
            Value::Signed(n) | Value::Enum { value: n, .. } => *n == 0,
            Value::Float(f) => *f == 0.0,
            Value::Str(s) => s.is_empty(),
            Value::List(items) => items.iter().all(Value::is_zero),
            Value::Ints { .. } => self.ints().all(|v| v.is_zero()),
            Value::Fields(fields) => fields.iter().all(|(_, v)| v.is_zero()),
            Value::Bytes(bytes) => bytes.iter().all(|&b| b == 0),
            Value::Missing => true,
        }
    }
}

/// JSON: strings, numbers (u64 and s64 exactly), bools, enum names,
/// objects in declaration order, arrays; bytes as hex and values cut off
/// (and floats that are not finite) as null. Members without a name
/// (padding bitfields) print once, as `"_"` with the last one's value.
impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Unsigned(n) | Value::Pointer(n) => serializer.serialize_u64(*n),
            Value::Signed(n) | Value::Enum { name: None, value: n } => serializer.serialize_i64(*n),
            Value::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float(_) | Value::Missing => serializer.serialize_unit(),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Enum { name: Some(name), .. } => serializer.serialize_str(name),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Ints { count, .. } => {
                let mut seq = serializer.serialize_seq(Some(*count as usize))?;
                for item in self.ints() {
                    seq.serialize_element(&item)?;
                }
                seq.end()
            }
            Value::Fields(fields) => {
                let mut map = serializer.serialize_map(None)?;
                let mut unnamed = fields.iter().rev().find(|(name, _)| *name == UNNAMED).map(|(_, v)| v);
                for (name, value) in fields {
                    if *name != UNNAMED {
                        map.serialize_entry(name, value)?;
                    } else if let Some(last) = unnamed.take() {
                        map.serialize_entry(UNNAMED, last)?;
                    }
                }
                map.end()
            }
            Value::Bytes(bytes) => serializer.serialize_str(&hex(bytes)),
        }
    }
}

/// Decodes a value of `size` bytes whose type may be unknown (`id` 0):
/// without BTF, 4- and 8-byte values read as unsigned integers, the rest
/// as bytes.
pub fn decode_or_guess<'t>(types: &'t Types, id: u32, bytes: &'t [u8]) -> Value<'t> {
    if id != 0 {
        return decode(types, id, bytes);
    }
    match bytes.len() {
        4 | 8 => read_uint(bytes, bytes.len()).map_or(Value::Missing, Value::Unsigned),
        _ => Value::Bytes(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Builder;
    use bpflet_sdk::bindings::bpflet::ebpf::btf::{CompositeType, Kind, Member};

    /// `struct event { u32 pid; s16 delta; bool flagged; enum mode mode;
    /// char comm[8]; u64 ts; }`, laid out as clang does.
    fn event() -> (Types, u32) {
        let mut b = Builder::new();
        let u32_ = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let s16 = b.int("short", 2, IntEncoding::Signed);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let mode = b.enumeration("mode", &[("MODE_ALL", 0), ("MODE_ROOT", 1)]);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let comm = b.array(ch, 8);
        let u64_ = b.int("unsigned long long", 8, IntEncoding::Unsigned);
        let event = b.structure(
            "event",
            32,
            &[
                ("pid", u32_, 0),
                ("delta", s16, 4),
                ("flagged", boolean, 6),
                ("mode", mode, 8),
                ("comm", comm, 12),
                ("ts", u64_, 24),
            ],
        );
        (b.build(), event)
    }

    fn event_bytes() -> Vec<u8> {
        let mut bytes = vec![0u8; 32];
        bytes[0..4].copy_from_slice(&1234u32.to_le_bytes());
        bytes[4..6].copy_from_slice(&(-5i16).to_le_bytes());
        bytes[6] = 1;
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        bytes[12..17].copy_from_slice(b"bash\0");
        bytes[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        bytes
    }

    #[test]
    fn decodes_a_struct_to_json_in_declaration_order() {
        let (types, event) = event();
        let json = decode(&types, event, &event_bytes()).to_json();
        assert_eq!(
            json.to_string(),
            r#"{"pid":1234,"delta":-5,"flagged":true,"mode":"MODE_ROOT","comm":"bash","ts":18446744073709551615}"#
        );
    }

    #[test]
    fn decodes_padded_and_short_records() {
        let (types, event) = event();
        let mut padded = event_bytes();
        padded.extend([0xaa; 4]);
        assert_eq!(decode(&types, event, &padded), decode(&types, event, &event_bytes()));
        let short = decode(&types, event, &event_bytes()[..10]).to_json();
        assert_eq!(short.to_string(), r#"{"pid":1234,"delta":-5,"flagged":true,"mode":null,"comm":null,"ts":null}"#);
    }

    #[test]
    fn text_cells() {
        let (types, event) = event();
        let bytes = event_bytes();
        let Value::Fields(fields) = decode(&types, event, &bytes) else { panic!("not a struct") };
        let cells: Vec<String> = fields.iter().map(|(_, v)| v.to_text()).collect();
        assert_eq!(cells, ["1234", "-5", "true", "MODE_ROOT", "bash", "18446744073709551615"]);
        assert_eq!(Value::Str("a\nb".into()).to_text(), "a\\nb");
        assert_eq!(Value::Enum { name: None, value: 7 }.to_text(), "7");
        assert_eq!(
            Value::Fields(vec![("a", Value::Unsigned(1)), ("b", Value::List(vec![Value::Signed(-1)]))]).to_text(),
            "{a=1 b=[-1]}"
        );
    }

    #[test]
    fn strings_stop_at_nul_and_survive_bad_utf8() {
        let mut b = Builder::new();
        let ch = b.int("char", 1, IntEncoding::Signed);
        let arr = b.array(ch, 6);
        let t = b.build();
        assert_eq!(decode(&t, arr, b"ab\0cd\0"), Value::Str("ab".into()));
        assert_eq!(decode(&t, arr, b"abcdef"), Value::Str("abcdef".into()));
        assert_eq!(decode(&t, arr, &[0x61, 0xff, 0]), Value::Str("a\u{fffd}".into()));
    }

    #[test]
    fn decodes_bitfields() {
        let mut b = Builder::new();
        let uint = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let int = b.int("int", 4, IntEncoding::Signed);
        let members = vec![
            Member { name: "low".into(), type_: uint, bit_offset: 0, bitfield_size: 3 },
            Member { name: "neg".into(), type_: int, bit_offset: 3, bitfield_size: 4 },
            Member { name: "high".into(), type_: uint, bit_offset: 7, bitfield_size: 9 },
        ];
        let s = b.add("bits", Kind::StructType(CompositeType { size: 4, members }));
        let t = b.build();
        // low = 5, neg = -2 (0b1110), high = 0x1ff
        let raw: u32 = 5 | (0b1110 << 3) | (0x1ff << 7);
        let json = decode(&t, s, &raw.to_le_bytes()).to_json();
        assert_eq!(json.to_string(), r#"{"low":5,"neg":-2,"high":511}"#);
    }

    #[test]
    fn integer_arrays_print_each_element_and_dashes_past_the_end() {
        let mut b = Builder::new();
        let u8_ = b.int("unsigned char", 1, IntEncoding::Unsigned);
        let s8 = b.int("signed char", 1, IntEncoding::Signed);
        let u16_ = b.int("unsigned short", 2, IntEncoding::Unsigned);
        let (bytes4, signed3, shorts2) = (b.array(u8_, 4), b.array(s8, 3), b.array(u16_, 2));
        let t = b.build();
        let bytes = [1, 200, 0];
        assert_eq!(decode(&t, bytes4, &bytes).to_text(), "[1,200,0,-]");
        assert_eq!(decode(&t, bytes4, &bytes).to_json().to_string(), "[1,200,0,null]");
        assert_eq!(decode(&t, bytes4, &[]).to_text(), "[-,-,-,-]");
        assert_eq!(decode(&t, signed3, &[255, 7, 128]).to_text(), "[-1,7,-128]");
        assert_eq!(decode(&t, shorts2, &[1, 2, 3]).to_text(), "[513,-]");
        assert!(decode(&t, shorts2, &[0, 0, 0, 0]).is_zero());
    }

    #[test]
    fn arrays_and_nested_structs() {
        let mut b = Builder::new();
        let u16_ = b.int("unsigned short", 2, IntEncoding::Unsigned);
        let pair = b.structure("pair", 4, &[("a", u16_, 0), ("b", u16_, 2)]);
        let pairs = b.array(pair, 2);
        let outer = b.structure("outer", 8, &[("pairs", pairs, 0)]);
        let t = b.build();
        let bytes = [1, 0, 2, 0, 3, 0, 4, 0];
        assert_eq!(decode(&t, outer, &bytes).to_json().to_string(), r#"{"pairs":[{"a":1,"b":2},{"a":3,"b":4}]}"#);
    }

    #[test]
    fn anonymous_members_decode_in_place() {
        let mut b = Builder::new();
        let u16_ = b.int("unsigned short", 2, IntEncoding::Unsigned);
        let inner = b.structure("", 4, &[("a", u16_, 0), ("b", u16_, 2)]);
        let outer = b.structure("outer", 6, &[("x", u16_, 0), ("", inner, 2)]);
        let t = b.build();
        assert_eq!(decode(&t, outer, &[1, 0, 2, 0, 3, 0]).to_json().to_string(), r#"{"x":1,"a":2,"b":3}"#);
        let names: Vec<String> = t.fields(outer).into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["x", "a", "b"]);
    }

    #[test]
    fn sums_integers_across_cpus() {
        let mut b = Builder::new();
        let u64_ = b.int("unsigned long long", 8, IntEncoding::Unsigned);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let slots = b.array(u64_, 2);
        let comm = b.array(ch, 8);
        let hist = b.structure("hist", 24, &[("slots", slots, 0), ("comm", comm, 16)]);
        let t = b.build();
        let cpu = |a: u64, b: u64, name: &[u8; 8]| {
            let mut v = Vec::new();
            v.extend(a.to_le_bytes());
            v.extend(b.to_le_bytes());
            v.extend(name);
            v
        };
        let summed = sum_per_cpu(&t, hist, &[cpu(1, 2, b"first\0\0\0"), cpu(10, 20, b"second\0\0")]);
        assert_eq!(summed, cpu(11, 22, b"first\0\0\0"));
        let plain = sum_per_cpu(&t, 0, &[7u32.to_le_bytes().to_vec(), 5u32.to_le_bytes().to_vec()]);
        assert_eq!(plain, 12u32.to_le_bytes());
    }
}
