//! BTF a hostile object could carry (any kinds, any references, cycles
//! included) and any record bytes: the decoding the kernel-only runner and
//! the render plug-in do, as text and JSON, must end with a value.
//!
//! The input is read as a small type list, then the record: a first byte
//! gives the number of types, each type takes a kind byte and a few bytes
//! of sizes, counts and references; the rest is the record.
#![no_main]

use bpflet_decode::{value, Types};
use bpflet_sdk::bindings::bpflet::ebpf::btf::*;

/// Reads bytes off the front of the input; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A type id among `n` (one past the last, now and then: dangling).
    fn id(&mut self, n: u32) -> u32 {
        u32::from(self.byte()) % (n + 1)
    }

    fn name(&mut self) -> String {
        ["", "a", "comm", "x\u{301}", "\u{7f}", "len"][usize::from(self.byte()) % 6].to_string()
    }
}

fn types(input: &mut Input<'_>) -> Vec<BtfType> {
    let n = 1 + u32::from(input.byte() % 24);
    let mut types = vec![BtfType { id: 0, name: String::new(), kind: Kind::Void }];
    for id in 1..n {
        let name = input.name();
        let kind = match input.byte() % 16 {
            0 => {
                let encoding = [IntEncoding::Unsigned, IntEncoding::Signed, IntEncoding::Char, IntEncoding::Bool]
                    [usize::from(input.byte() % 4)];
                let size = [1, 2, 4, 8, 16, 3, 0, 32][usize::from(input.byte() % 8)];
                let (bit_offset, bits) = (u32::from(input.byte() % 130), u32::from(input.byte() % 130));
                Kind::Int(IntType { size, encoding, bit_offset, bits })
            }
            1 => Kind::Ptr(input.id(n)),
            2 => {
                let element = input.id(n);
                let count = match input.byte() % 4 {
                    0 => u32::MAX,
                    1 => input.u32(),
                    _ => u32::from(input.byte()),
                };
                Kind::Array(ArrayType { element, count })
            }
            3 | 4 => {
                let size = if input.byte() % 8 == 0 { input.u32() } else { u32::from(input.byte()) };
                let members = (0..input.byte() % 6)
                    .map(|_| Member {
                        name: input.name(),
                        type_: input.id(n),
                        bit_offset: if input.byte() % 8 == 0 { input.u32() } else { u32::from(input.byte()) * 8 },
                        bitfield_size: u32::from(input.byte() % 70),
                    })
                    .collect();
                let composite = CompositeType { size, members };
                if id % 2 == 0 {
                    Kind::StructType(composite)
                } else {
                    Kind::UnionType(composite)
                }
            }
            5 => {
                let size = [1, 2, 4, 8, 0, 3][usize::from(input.byte() % 6)];
                let values = (0..input.byte() % 4)
                    .map(|_| Enumerator { name: input.name(), value: i64::from(input.u32() as i32) })
                    .collect();
                Kind::EnumType(EnumType { size, signed: input.byte() % 2 == 0, values })
            }
            6 => Kind::Fwd(input.byte() % 2 == 0),
            7 => Kind::Typedef(input.id(n)),
            8 => Kind::ConstQualified(input.id(n)),
            9 => Kind::VolatileQualified(input.id(n)),
            10 => Kind::TypeTag(input.id(n)),
            11 => Kind::Float([4, 8, 16, 0, 3][usize::from(input.byte() % 5)]),
            12 => {
                let vars = (0..input.byte() % 4)
                    .map(|_| SectionVar {
                        type_: input.id(n),
                        offset: u32::from(input.byte()),
                        size: u32::from(input.byte()),
                    })
                    .collect();
                Kind::Datasec(DatasecType { size: u32::from(input.byte()), vars })
            }
            13 => Kind::Var(VarType { type_: input.id(n), linkage: Linkage::Global }),
            14 => Kind::DeclTag(DeclTagType { target: input.id(n), component: None }),
            _ => Kind::RestrictQualified(input.id(n)),
        };
        types.push(BtfType { id, name, kind });
    }
    types
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let types = Types::new(types(&mut input));
    let record = input.0;
    // Every type, and one past the last.
    let count = (0..).take_while(|&id| types.get(id).is_some()).count() as u32;
    for id in 0..=count {
        let _ = types.size_of(id);
        let _ = types.fields(id);
        let _ = types.char_array_len(id);
        let _ = types.display_name(id);
        let decoded = value::decode(&types, id, record);
        let mut text = String::new();
        decoded.write_text(&mut text);
        let _ = decoded.to_json();
        let _ = value::decode_or_guess(&types, id, record).to_text();
        let _ = value::sum_per_cpu(&types, id, &[record, record]);
    }
});
