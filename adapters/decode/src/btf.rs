//! Reading the object's BTF: following typedefs and modifiers, naming
//! types for people, finding decl tags and the record type of a buffer.
//! Pure: works on the list `bpf-object.btf-types` returned.

use bpflet_sdk::bindings::bpflet::ebpf::btf::{BtfType, IntEncoding, IntType, Kind, Member};

/// Every type of one object, indexed by type id (0 is void).
pub struct Types {
    types: Vec<BtfType>,
}

/// A scalar as flags and table columns see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    /// An integer of `size` bytes.
    Int {
        size: u32,
        signed: bool,
    },
}

impl Types {
    pub fn new(types: Vec<BtfType>) -> Self {
        Self { types }
    }

    pub fn get(&self, id: u32) -> Option<&BtfType> {
        self.types.get(id as usize)
    }

    /// Follows typedefs and modifiers to the type that gives a value its
    /// shape; returns its id (0 when the chain breaks).
    pub fn resolve(&self, mut id: u32) -> u32 {
        // A bound, in case of a malformed cycle.
        for _ in 0..64 {
            match self.get(id).map(|t| &t.kind) {
                Some(
                    Kind::Typedef(next)
                    | Kind::ConstQualified(next)
                    | Kind::VolatileQualified(next)
                    | Kind::RestrictQualified(next)
                    | Kind::TypeTag(next),
                ) => id = *next,
                Some(_) => return id,
                None => return 0,
            }
        }
        0
    }

    /// The resolved type of `id`.
    pub fn concrete(&self, id: u32) -> Option<&BtfType> {
        self.get(self.resolve(id))
    }

    /// The resolved kind of `id`.
    pub fn kind(&self, id: u32) -> Option<&Kind> {
        self.concrete(id).map(|t| &t.kind)
    }

    /// Size of a value of type `id` in bytes.
    pub fn size_of(&self, id: u32) -> Option<u32> {
        self.size_at_depth(id, 0)
    }

    /// `size_of`, through at most 32 nested arrays (a malformed BTF can
    /// make an array its own element).
    fn size_at_depth(&self, id: u32, depth: u32) -> Option<u32> {
        match self.kind(id)? {
            Kind::Int(int) => Some(int.size),
            Kind::Ptr(_) => Some(8),
            Kind::Array(_) if depth > 32 => None,
            Kind::Array(a) => self.size_at_depth(a.element, depth + 1)?.checked_mul(a.count),
            Kind::StructType(c) | Kind::UnionType(c) => Some(c.size),
            Kind::EnumType(e) => Some(e.size),
            Kind::Float(size) => Some(*size),
            Kind::Datasec(d) => Some(d.size),
            _ => None,
        }
    }

    /// The integer or bool that `id` is, if it is one.
    pub fn scalar(&self, id: u32) -> Option<Scalar> {
        match self.kind(id)? {
            Kind::Int(IntType { encoding: IntEncoding::Bool, .. }) => Some(Scalar::Bool),
            Kind::Int(int) => Some(Scalar::Int { size: int.size, signed: int_is_signed(int) }),
            _ => None,
        }
    }

    /// The length of `id` when it is an array of `char` (a C string).
    pub fn char_array_len(&self, id: u32) -> Option<u32> {
        match self.kind(id)? {
            Kind::Array(a) if self.is_char(a.element) => Some(a.count),
            _ => None,
        }
    }

    /// Whether `id` is C's `char` (clang encodes it as a signed byte named
    /// `char`; `__u8`/`unsigned char` arrays stay byte arrays).
    pub fn is_char(&self, id: u32) -> bool {
        match self.concrete(id) {
            Some(BtfType { name, kind: Kind::Int(int), .. }) => {
                int.size == 1 && (int.encoding == IntEncoding::Char || name == "char")
            }
            _ => false,
        }
    }

    /// The members of a struct or union, anonymous struct/union members
    /// replaced by their own members (as C lets code name them), with
    /// offsets from the start of the outer type. Empty for other types.
    pub fn fields(&self, id: u32) -> Vec<Member> {
        let mut out = Vec::new();
        let mut visits = 0;
        self.collect_fields(id, 0, &mut out, 0, &mut visits);
        out
    }

    /// At most 16 anonymous members deep and 65536 members looked at: a
    /// malformed BTF can make a struct an anonymous member of itself.
    fn collect_fields(&self, id: u32, base_bits: u32, out: &mut Vec<Member>, depth: u32, visits: &mut u32) {
        let (Some(Kind::StructType(c) | Kind::UnionType(c)), true) = (self.kind(id), depth < 16) else {
            return;
        };
        for member in &c.members {
            *visits += 1;
            if *visits > 1 << 16 {
                return;
            }
            let offset = base_bits.saturating_add(member.bit_offset);
            let composite = matches!(self.kind(member.type_), Some(Kind::StructType(_) | Kind::UnionType(_)));
            if member.name.is_empty() && composite {
                self.collect_fields(member.type_, offset, out, depth + 1, visits);
            } else {
                out.push(Member {
                    name: member.name.clone(),
                    type_: member.type_,
                    bit_offset: offset,
                    bitfield_size: member.bitfield_size,
                });
            }
        }
    }

    /// The texts of the decl tags on the whole of `target` (not on one of
    /// its members), in BTF order.
    pub fn decl_tags(&self, target: u32) -> impl Iterator<Item = &str> {
        self.types.iter().filter_map(move |t| match &t.kind {
            Kind::DeclTag(tag) if tag.target == target && tag.component.is_none() && target != 0 => {
                Some(t.name.as_str())
            }
            _ => None,
        })
    }

    /// The value of the first `key=value` decl tag on `target`.
    pub fn tag(&self, target: u32, key: &str) -> Option<&str> {
        self.decl_tags(target).find_map(|tag| tag.strip_prefix(key)?.strip_prefix('='))
    }

    /// The struct or union called `name` (or a typedef of one), by id.
    pub fn composite_named(&self, name: &str) -> Option<u32> {
        let composite = |id: u32| matches!(self.kind(id), Some(Kind::StructType(_) | Kind::UnionType(_)));
        // A full definition first: a forward declaration of the same name
        // resolves to nothing.
        self.types
            .iter()
            .find(|t| t.name == name && matches!(t.kind, Kind::StructType(_) | Kind::UnionType(_)))
            .or_else(|| {
                self.types.iter().find(|t| t.name == name && matches!(t.kind, Kind::Typedef(_)) && composite(t.id))
            })
            .map(|t| t.id)
    }

    /// The struct, union, enum or typedef called `name`, by id: a full
    /// definition before a typedef; forward declarations never.
    pub fn named(&self, name: &str) -> Option<u32> {
        let enumeration = |t: &&BtfType| t.name == name && matches!(t.kind, Kind::EnumType(_));
        self.composite_named(name)
            .or_else(|| self.types.iter().find(enumeration).map(|t| t.id))
            .or_else(|| self.types.iter().find(|t| t.name == name && matches!(t.kind, Kind::Typedef(_))).map(|t| t.id))
    }

    /// How a type reads in `--help`: `u32`, `s64`, `bool`, `string[16]`,
    /// `enum mode`, `f64`, or the C-ish spelling for the rest.
    pub fn display_name(&self, id: u32) -> String {
        self.display_at_depth(id, 0)
    }

    /// `display_name`, through at most 16 arrays and pointers (a malformed
    /// BTF can make a type its own element).
    fn display_at_depth(&self, id: u32, depth: u32) -> String {
        let Some(t) = self.concrete(id) else {
            return "void".into();
        };
        match &t.kind {
            Kind::Array(_) | Kind::Ptr(_) if depth > 16 => "...".into(),
            Kind::Int(IntType { encoding: IntEncoding::Bool, .. }) => "bool".into(),
            Kind::Int(int) => format!("{}{}", if int_is_signed(int) { 's' } else { 'u' }, u64::from(int.size) * 8),
            Kind::EnumType(_) if t.name.is_empty() => "enum".into(),
            Kind::EnumType(_) => format!("enum {}", t.name),
            Kind::Float(size) => format!("f{}", u64::from(*size) * 8),
            Kind::Array(a) if self.is_char(a.element) => format!("string[{}]", a.count),
            Kind::Array(a) => format!("{}[{}]", self.display_at_depth(a.element, depth + 1), a.count),
            Kind::Ptr(to) => format!("{} *", self.display_at_depth(*to, depth + 1)),
            Kind::StructType(_) => format!("struct {}", t.name),
            Kind::UnionType(_) => format!("union {}", t.name),
            _ => t.name.clone(),
        }
    }
}

/// `char` is signed on the targets BPF programs are built for.
pub fn int_is_signed(int: &IntType) -> bool {
    matches!(int.encoding, IntEncoding::Signed | IntEncoding::Char)
}

/// A global the record-type search looks at: its name and BTF type.
pub struct GlobalRef<'a> {
    pub name: &'a str,
    pub type_id: u32,
}

/// Where a buffer's record type came from, for messages.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordSource {
    /// `bpflet.record=<name>` on the map's definition.
    DeclTag,
    /// eunomia-bpf's unused global pointer, by its name.
    Pointer(String),
}

/// The struct that a ring or perf buffer carries: (a) a decl tag
/// `bpflet.record=<name>` on the map's `definition`, else (b) the struct a
/// global pointer points to (eunomia-bpf's `struct event *unused_event`):
/// the only such pointer, or the first one whose name starts with
/// `unused`; else none (records print as hex). `Err` when a tag names a
/// type the object does not have.
pub fn record_type(
    types: &Types,
    definition: u32,
    globals: &[GlobalRef<'_>],
) -> Result<Option<(u32, RecordSource)>, String> {
    if let Some(name) = types.tag(definition, "bpflet.record") {
        return match types.composite_named(name) {
            Some(id) => Ok(Some((id, RecordSource::DeclTag))),
            None => Err(format!("decl tag bpflet.record={name} names no struct in the object's BTF")),
        };
    }
    let pointers: Vec<(&str, u32)> = globals
        .iter()
        .filter_map(|g| match types.kind(g.type_id)? {
            Kind::Ptr(to) => {
                let pointee = types.resolve(*to);
                matches!(types.kind(pointee)?, Kind::StructType(_) | Kind::UnionType(_)).then_some((g.name, pointee))
            }
            _ => None,
        })
        .collect();
    let chosen = match pointers.as_slice() {
        [only] => Some(*only),
        many => many.iter().find(|(name, _)| name.starts_with("unused")).copied(),
    };
    Ok(chosen.map(|(name, id)| (id, RecordSource::Pointer(name.to_string()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Builder;
    use bpflet_sdk::bindings::bpflet::ebpf::btf::{ArrayType, CompositeType, Kind, Linkage, VarType};

    /// Malformed BTF a hostile object can carry, as `make fuzz` found it:
    /// types that contain themselves end in an answer, not in a stack
    /// overflow or exponential time.
    #[test]
    fn types_that_contain_themselves_end() {
        let mut b = Builder::new();
        // 1: an array of itself; 2: a pointer to itself.
        b.add("", Kind::Array(ArrayType { element: 1, count: u32::MAX }));
        b.add("", Kind::Ptr(2));
        // 3: a struct whose five anonymous members are itself.
        let itself = |name: &str| Member { name: name.into(), type_: 3, bit_offset: 0, bitfield_size: 0 };
        let members = (0..5).map(|_| itself("")).collect();
        b.add("loop", Kind::StructType(CompositeType { size: 8, members }));
        // 4: a struct whose five named members are itself.
        let members = (0..5).map(|i| Member { type_: 4, ..itself(&format!("m{i}")) }).collect();
        b.add("tree", Kind::StructType(CompositeType { size: 8, members }));
        let types = Types::new(b.types);
        assert_eq!(types.size_of(1), None);
        assert!(types.display_name(1).contains("..."));
        assert!(types.display_name(2).contains("..."));
        assert!(types.fields(3).is_empty());
        assert!(types.fields(4).len() == 5);
        let bytes = [0u8; 64];
        for id in 1..=4 {
            let value = crate::value::decode(&types, id, &bytes);
            let mut text = String::new();
            value.write_text(&mut text);
            let _ = value.to_json();
            let _ = crate::value::sum_per_cpu(&types, id, &[&bytes[..], &bytes[..]]);
        }
    }

    #[test]
    fn resolves_modifiers_and_names_types() {
        let mut b = Builder::new();
        let uint = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let u32_ = b.add("__u32", Kind::Typedef(uint));
        let cv = b.const_volatile(u32_);
        let long = b.int("long", 8, IntEncoding::Signed);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let cv_char = b.const_volatile(ch);
        let comm = b.array(cv_char, 16);
        let uchar = b.int("unsigned char", 1, IntEncoding::Unsigned);
        let bytes = b.array(uchar, 4);
        let mode = b.enumeration("mode", &[("MODE_ALL", 0)]);
        let t = b.build();
        assert_eq!(t.resolve(cv), uint);
        assert_eq!(t.display_name(cv), "u32");
        assert_eq!(t.display_name(long), "s64");
        assert_eq!(t.display_name(boolean), "bool");
        assert_eq!(t.display_name(comm), "string[16]");
        assert_eq!(t.char_array_len(comm), Some(16));
        assert_eq!(t.char_array_len(bytes), None);
        assert_eq!(t.display_name(mode), "enum mode");
        assert_eq!(t.size_of(comm), Some(16));
        assert_eq!(t.scalar(cv), Some(Scalar::Int { size: 4, signed: false }));
    }

    #[test]
    fn flattens_anonymous_members() {
        let mut b = Builder::new();
        let int = b.int("int", 4, IntEncoding::Signed);
        let inner = b.structure("", 8, &[("a", int, 0), ("b", int, 4)]);
        let outer = b.structure("outer", 12, &[("x", int, 0), ("", inner, 4)]);
        let t = b.build();
        let names: Vec<(String, u32)> = t.fields(outer).into_iter().map(|m| (m.name, m.bit_offset / 8)).collect();
        assert_eq!(names, [("x".into(), 0), ("a".into(), 4), ("b".into(), 8)]);
    }

    #[test]
    fn record_type_prefers_the_tag_then_the_unused_pointer() {
        let mut b = Builder::new();
        let int = b.int("int", 4, IntEncoding::Signed);
        let event = b.structure("event", 4, &[("pid", int, 0)]);
        let other = b.structure("other", 4, &[("x", int, 0)]);
        let to_event = b.add("", Kind::Ptr(event));
        let to_other = b.add("", Kind::Ptr(other));
        let ringdef = b.add("ring", Kind::Var(VarType { type_: int, linkage: Linkage::Global }));
        let tagged = b.add("tagged", Kind::Var(VarType { type_: int, linkage: Linkage::Global }));
        b.tag("bpflet.record=other", tagged);
        let t = b.build();

        let one = [GlobalRef { name: "unused_event", type_id: to_event }];
        assert_eq!(record_type(&t, ringdef, &one), Ok(Some((event, RecordSource::Pointer("unused_event".into())))));
        assert_eq!(record_type(&t, tagged, &one), Ok(Some((other, RecordSource::DeclTag))));

        let two = [GlobalRef { name: "cursor", type_id: to_other }, GlobalRef { name: "unused_e", type_id: to_event }];
        assert_eq!(record_type(&t, ringdef, &two).unwrap().unwrap().0, event);
        let ambiguous = [GlobalRef { name: "a", type_id: to_other }, GlobalRef { name: "b", type_id: to_event }];
        assert_eq!(record_type(&t, ringdef, &ambiguous), Ok(None));
        assert_eq!(record_type(&t, ringdef, &[GlobalRef { name: "n", type_id: int }]), Ok(None));
    }

    #[test]
    fn a_tag_naming_a_missing_type_is_an_error() {
        let mut b = Builder::new();
        let int = b.int("int", 4, IntEncoding::Signed);
        let def = b.add("ring", Kind::Var(VarType { type_: int, linkage: Linkage::Global }));
        b.tag("bpflet.unit=bytes", def);
        b.tag("bpflet.record=nope", def);
        let t = b.build();
        assert_eq!(t.tag(def, "bpflet.unit"), Some("bytes"));
        assert!(record_type(&t, def, &[]).unwrap_err().contains("nope"));
    }
}
