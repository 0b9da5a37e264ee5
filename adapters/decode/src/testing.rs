//! Builds BTF type lists for unit tests (this crate's and its users'),
//! the way clang lays them out.

use bpflet_sdk::bindings::bpflet::ebpf::btf::*;

#[derive(Default)]
pub struct Builder {
    pub types: Vec<BtfType>,
}

impl Builder {
    pub fn new() -> Self {
        Self { types: vec![BtfType { id: 0, name: String::new(), kind: Kind::Void }] }
    }

    pub fn add(&mut self, name: &str, kind: Kind) -> u32 {
        let id = self.types.len() as u32;
        self.types.push(BtfType { id, name: name.into(), kind });
        id
    }

    pub fn int(&mut self, name: &str, size: u32, encoding: IntEncoding) -> u32 {
        self.add(name, Kind::Int(IntType { size, encoding, bit_offset: 0, bits: size * 8 }))
    }

    pub fn array(&mut self, element: u32, count: u32) -> u32 {
        self.add("", Kind::Array(ArrayType { element, count }))
    }

    /// `members`: (name, type, byte offset).
    pub fn structure(&mut self, name: &str, size: u32, members: &[(&str, u32, u32)]) -> u32 {
        let members = members
            .iter()
            .map(|&(name, type_, offset)| Member { name: name.into(), type_, bit_offset: offset * 8, bitfield_size: 0 })
            .collect();
        self.add(name, Kind::StructType(CompositeType { size, members }))
    }

    pub fn enumeration(&mut self, name: &str, values: &[(&str, i64)]) -> u32 {
        let values = values.iter().map(|&(name, value)| Enumerator { name: name.into(), value }).collect();
        self.add(name, Kind::EnumType(EnumType { size: 4, signed: false, values }))
    }

    /// `const volatile <to>`, as a `const volatile` global has it.
    pub fn const_volatile(&mut self, to: u32) -> u32 {
        let volatile = self.add("", Kind::VolatileQualified(to));
        self.add("", Kind::ConstQualified(volatile))
    }

    pub fn tag(&mut self, text: &str, target: u32) -> u32 {
        self.add(text, Kind::DeclTag(DeclTagType { target, component: None }))
    }

    pub fn build(self) -> crate::btf::Types {
        crate::btf::Types::new(self.types)
    }
}
