//! `bpflet:ebpf/btf`: the object's BPF Type Format, mirrored kind for kind
//! so that guests (the kernel-only runner above all) can decode records,
//! print maps and type flags without the C source.

use std::ffi::CStr;

use crate::bindings::btf::{
    ArrayType, BtfType, CompositeType, DatasecType, DeclTagType, EnumType, Enumerator, FuncProtoType, IntEncoding,
    IntType, Kind, Linkage, Member, Param, SectionVar, VarType,
};
use crate::BpfCtxView;

impl crate::bindings::btf::Host for BpfCtxView<'_> {}

const BTF_KIND_INT: u32 = 1;
const BTF_KIND_PTR: u32 = 2;
const BTF_KIND_ARRAY: u32 = 3;
const BTF_KIND_STRUCT: u32 = 4;
const BTF_KIND_UNION: u32 = 5;
const BTF_KIND_ENUM: u32 = 6;
const BTF_KIND_FWD: u32 = 7;
const BTF_KIND_TYPEDEF: u32 = 8;
const BTF_KIND_VOLATILE: u32 = 9;
const BTF_KIND_CONST: u32 = 10;
const BTF_KIND_RESTRICT: u32 = 11;
const BTF_KIND_FUNC: u32 = 12;
const BTF_KIND_FUNC_PROTO: u32 = 13;
const BTF_KIND_VAR: u32 = 14;
const BTF_KIND_DATASEC: u32 = 15;
const BTF_KIND_FLOAT: u32 = 16;
const BTF_KIND_DECL_TAG: u32 = 17;
const BTF_KIND_TYPE_TAG: u32 = 18;
const BTF_KIND_ENUM64: u32 = 19;

/// Every type of an open object's BTF (empty when it has none).
pub fn of_open_object(object: &libbpf_rs::OpenObject) -> Vec<BtfType> {
    use libbpf_rs::AsRawLibbpf as _;
    // SAFETY: the object is alive for this call; libbpf has read and fixed
    // up its BTF (section sizes, offsets) during open, and returns NULL
    // when there is none.
    unsafe { all_types(libbpf_sys::bpf_object__btf(object.as_libbpf_object().as_ptr())) }
}

/// The BTF type ids of a map's key and value (0 when not declared).
pub fn map_type_ids(map: &impl libbpf_rs::AsRawLibbpf<LibbpfType = libbpf_sys::bpf_map>) -> (u32, u32) {
    let raw = map.as_libbpf_object().as_ptr();
    // SAFETY: the map belongs to a live object for this call; both
    // functions only read its definition.
    unsafe { (libbpf_sys::bpf_map__btf_key_type_id(raw), libbpf_sys::bpf_map__btf_value_type_id(raw)) }
}

/// Every type of `btf`, index = type id (entry 0 is void).
///
/// # Safety
/// `btf` must be NULL or a valid libbpf BTF object for the duration of the call.
unsafe fn all_types(btf: *const libbpf_sys::btf) -> Vec<BtfType> {
    if btf.is_null() {
        return Vec::new();
    }
    // SAFETY: `btf` is valid (the caller's contract); libbpf returns
    // pointers into its own BTF data, and each type's trailing records
    // follow it in memory, `vlen` of them. One block for the whole walk.
    unsafe {
        let count = libbpf_sys::btf__type_cnt(btf);
        let name = |off: u32| -> String {
            let p = libbpf_sys::btf__name_by_offset(btf, off);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        let mut types = Vec::with_capacity(count as usize);
        types.push(BtfType { id: 0, name: String::new(), kind: Kind::Void });
        for id in 1..count {
            let t = libbpf_sys::btf__type_by_id(btf, id);
            if t.is_null() {
                types.push(BtfType { id, name: String::new(), kind: Kind::Void });
                continue;
            }
            let t = &*t;
            let info = t.info;
            let (kind, vlen, kflag) = ((info >> 24) & 0x1f, (info & 0xffff) as usize, info >> 31 == 1);
            let size_or_type = t.__bindgen_anon_1.size;
            let extra = (t as *const libbpf_sys::btf_type).add(1).cast::<u8>();
            let kind = match kind {
                BTF_KIND_INT => {
                    let raw = *extra.cast::<u32>();
                    let encoding = match (raw >> 24) & 0x0f {
                        e if e & 4 != 0 => IntEncoding::Bool,
                        e if e & 2 != 0 => IntEncoding::Char,
                        e if e & 1 != 0 => IntEncoding::Signed,
                        _ => IntEncoding::Unsigned,
                    };
                    Kind::Int(IntType {
                        size: size_or_type,
                        encoding,
                        bit_offset: (raw >> 16) & 0xff,
                        bits: raw & 0xff,
                    })
                }
                BTF_KIND_PTR => Kind::Ptr(size_or_type),
                BTF_KIND_ARRAY => {
                    let a = &*extra.cast::<libbpf_sys::btf_array>();
                    Kind::Array(ArrayType { element: a.type_, count: a.nelems })
                }
                BTF_KIND_STRUCT | BTF_KIND_UNION => {
                    let members = std::slice::from_raw_parts(extra.cast::<libbpf_sys::btf_member>(), vlen);
                    let members = members
                        .iter()
                        .map(|m| {
                            let (bit_offset, bitfield_size) =
                                if kflag { (m.offset & 0xff_ffff, m.offset >> 24) } else { (m.offset, 0) };
                            Member { name: name(m.name_off), type_: m.type_, bit_offset, bitfield_size }
                        })
                        .collect();
                    let composite = CompositeType { size: size_or_type, members };
                    if kind == BTF_KIND_STRUCT {
                        Kind::StructType(composite)
                    } else {
                        Kind::UnionType(composite)
                    }
                }
                BTF_KIND_ENUM => {
                    let values = std::slice::from_raw_parts(extra.cast::<libbpf_sys::btf_enum>(), vlen)
                        .iter()
                        .map(|e| Enumerator {
                            name: name(e.name_off),
                            value: if kflag { i64::from(e.val) } else { i64::from(e.val as u32) },
                        })
                        .collect();
                    Kind::EnumType(EnumType { size: size_or_type, signed: kflag, values })
                }
                BTF_KIND_ENUM64 => {
                    let values = std::slice::from_raw_parts(extra.cast::<libbpf_sys::btf_enum64>(), vlen)
                        .iter()
                        .map(|e| Enumerator {
                            name: name(e.name_off),
                            value: ((u64::from(e.val_hi32) << 32) | u64::from(e.val_lo32)) as i64,
                        })
                        .collect();
                    Kind::EnumType(EnumType { size: size_or_type, signed: kflag, values })
                }
                BTF_KIND_FWD => Kind::Fwd(kflag),
                BTF_KIND_TYPEDEF => Kind::Typedef(size_or_type),
                BTF_KIND_VOLATILE => Kind::VolatileQualified(size_or_type),
                BTF_KIND_CONST => Kind::ConstQualified(size_or_type),
                BTF_KIND_RESTRICT => Kind::RestrictQualified(size_or_type),
                BTF_KIND_FUNC => Kind::Func(size_or_type),
                BTF_KIND_FUNC_PROTO => {
                    let params = std::slice::from_raw_parts(extra.cast::<libbpf_sys::btf_param>(), vlen)
                        .iter()
                        .map(|p| Param { name: name(p.name_off), type_: p.type_ })
                        .collect();
                    Kind::FuncProto(FuncProtoType { ret: size_or_type, params })
                }
                BTF_KIND_VAR => {
                    let linkage = match (*extra.cast::<libbpf_sys::btf_var>()).linkage {
                        0 => Linkage::Static,
                        1 => Linkage::Global,
                        _ => Linkage::Extern,
                    };
                    Kind::Var(VarType { type_: size_or_type, linkage })
                }
                BTF_KIND_DATASEC => {
                    let vars = std::slice::from_raw_parts(extra.cast::<libbpf_sys::btf_var_secinfo>(), vlen)
                        .iter()
                        .map(|v| SectionVar { type_: v.type_, offset: v.offset, size: v.size })
                        .collect();
                    Kind::Datasec(DatasecType { size: size_or_type, vars })
                }
                BTF_KIND_FLOAT => Kind::Float(size_or_type),
                BTF_KIND_DECL_TAG => {
                    let component = (*extra.cast::<libbpf_sys::btf_decl_tag>()).component_idx;
                    Kind::DeclTag(DeclTagType { target: size_or_type, component: u32::try_from(component).ok() })
                }
                BTF_KIND_TYPE_TAG => Kind::TypeTag(size_or_type),
                _ => Kind::Void,
            };
            types.push(BtfType { id, name: name(t.name_off), kind });
        }
        types
    }
}

/// The id of the variable `name` declared in the data section `section`.
pub fn var_in_section(types: &[BtfType], section: &str, name: &str) -> Option<u32> {
    types.iter().filter(|t| t.name == section).find_map(|sec| match &sec.kind {
        Kind::Datasec(d) => {
            d.vars.iter().map(|v| v.type_).find(|id| types.get(*id as usize).is_some_and(|v| v.name == name))
        }
        _ => None,
    })
}
