//! Results lowered straight into guest memory: the one place the runtime
//! uses wasmtime's internal lowering API.
//!
//! wasmtime lowers a host function's `Vec<u8>` result by asking the guest's
//! allocator for room and copying the vector there, so a host function that
//! returns bytes pays for a host allocation as well as the guest's. The hot
//! functions (event polls, single-element map calls) return these types
//! instead, which write their bytes straight into the guest's allocation:
//!
//! - [`List`]: a WIT `list<u8>` or `list<u32>` filled by a [`ListSource`]
//!   (a ring buffer's records, a map value on the stack, ...);
//! - [`WordResult`]: `result<option<u64>, error>` written into the guest's
//!   return area with one look-up of its memory instead of one per field.
//!
//! They implement `ComponentType` and `Lower`, which wasmtime documents as
//! internal (`wasmtime::component::__internal`): every type check delegates
//! to wasmtime's own for the same WIT type, and every layout constant comes
//! from wasmtime. Upgrading wasmtime: check that `LowerContext::realloc`,
//! `as_slice_mut`, `get` and `ComponentVariant::PAYLOAD_OFFSET32` still mean
//! what they mean here, then run this module's tests, which lower every
//! type here and the plain type it stands for into a real component and
//! compare the guest memory byte for byte. The version is pinned in the
//! workspace Cargo.toml.

use std::mem::MaybeUninit;

use wasmtime::component::__internal::{CanonicalAbiInfo, ComponentVariant, InstanceType, InterfaceType, LowerContext};
use wasmtime::component::{ComponentType, Lower};
use wasmtime::ValRaw;

use crate::Error;

/// The elements of a list a host function writes into guest memory.
pub trait ListSource {
    /// The WIT element type: `u8` or `u32`.
    type Element: ListElement;
    /// How many elements the list has.
    fn len(&self) -> usize;
    /// Fills the guest's allocation for the list: exactly `len()` elements,
    /// little-endian. Guest code cannot run meanwhile.
    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()>;
}

/// An element type of a [`List`].
pub trait ListElement: ComponentType + Lower + Copy {
    const SIZE: usize;
}

impl ListElement for u8 {
    const SIZE: usize = 1;
}

impl ListElement for u32 {
    const SIZE: usize = 4;
}

/// A WIT `list<u8>` or `list<u32>` whose bytes a [`ListSource`] writes into
/// the guest's allocation while the result is lowered.
#[derive(Clone)]
pub struct List<S>(pub S);

impl<S: ListSource> List<S> {
    /// Allocates the list in the guest and fills it; returns its guest
    /// address and length in elements.
    fn lower_list<T>(&self, cx: &mut LowerContext<'_, T>) -> wasmtime::Result<(usize, usize)> {
        let len = self.0.len();
        let bytes = len.checked_mul(S::Element::SIZE).ok_or_else(|| wasmtime::format_err!("list too long"))?;
        let address = cx.realloc(0, 0, <S::Element as ComponentType>::ALIGN32, bytes)?;
        // `realloc` checked that the allocation lies inside guest memory.
        let list = cx
            .as_slice_mut()
            .get_mut(address..address + bytes)
            .ok_or_else(|| wasmtime::format_err!("the guest's allocation is outside its memory"))?;
        self.0.fill(list)?;
        Ok((address, len))
    }
}

// SAFETY: the ABI and type check of `[E]`, the type this stands for.
unsafe impl<S: ListSource + Send + Sync> ComponentType for List<S> {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = <[S::Element] as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <[S::Element] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes what `[E]`'s lowering writes: a list the guest's realloc
// allocated, as (address, length) flat or at `offset` in memory.
unsafe impl<S: ListSource + Send + Sync> Lower for List<S> {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        dst: &mut MaybeUninit<[ValRaw; 2]>,
    ) -> wasmtime::Result<()> {
        let (address, len) = self.lower_list(cx)?;
        dst.write([ValRaw::i64(address as i64), ValRaw::i64(len as i64)]);
        Ok(())
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        _ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        let (address, len) = self.lower_list(cx)?;
        *cx.get::<4>(offset) = u32::try_from(address)?.to_le_bytes();
        *cx.get::<4>(offset + 4) = u32::try_from(len)?.to_le_bytes();
        Ok(())
    }
}

/// `result<option<u64>, error>` (`lookup-word`'s result), its `ok` case
/// written into the guest's return area with one look-up of guest memory
/// instead of one per field: on the word path that is a measurable part of
/// a call. Errors take wasmtime's own lowering.
#[derive(Clone)]
pub struct WordResult(pub Result<Option<u64>, Error>);

type WordResultWit = Result<Option<u64>, Error>;

// SAFETY: the ABI and type check of the type it stands for.
unsafe impl ComponentType for WordResult {
    type Lower = <WordResultWit as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <WordResultWit as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <WordResultWit as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes the bytes the wrapped type's lowering writes for `ok` (the
// offsets are wasmtime's own layout constants; the test below compares),
// and delegates everything else.
unsafe impl Lower for WordResult {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<Self::Lower>,
    ) -> wasmtime::Result<()> {
        self.0.linear_lower_to_flat(cx, ty, dst)
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        let Ok(found) = &self.0 else {
            return self.0.linear_lower_to_memory(cx, ty, offset);
        };
        let option_at = <WordResultWit as ComponentVariant>::PAYLOAD_OFFSET32;
        let value_at = option_at + <Option<u64> as ComponentVariant>::PAYLOAD_OFFSET32;
        let area = cx
            .as_slice_mut()
            .get_mut(offset..offset + value_at + 8)
            .ok_or_else(|| wasmtime::format_err!("return area outside guest memory"))?;
        area[0] = 0; // ok
        area[option_at] = u8::from(found.is_some());
        if let Some(value) = found {
            area[value_at..].copy_from_slice(&value.to_le_bytes());
        }
        Ok(())
    }
}

/// A [`ListSource`] over bytes or words the host already has.
impl ListSource for &[u8] {
    type Element = u8;

    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        list.copy_from_slice(self);
        Ok(())
    }
}

impl ListSource for &[u32] {
    type Element = u32;

    fn len(&self) -> usize {
        <[u32]>::len(self)
    }

    fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
        for (slot, word) in list.chunks_exact_mut(4).zip(self.iter()) {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Each type of this module and the plain type it stands for are
    //! returned by two host functions of one real component, which copies
    //! what they wrote into its memory (return areas and lists) out as one
    //! byte list: the two must be the same, byte for byte.

    use super::*;
    use crate::bindings::types::{LoadFailure, OsError};
    use wasmtime::component::{Component, Linker};
    use wasmtime::{Config, Engine, Store};

    /// The WIT `error` variant, spelled out for the test component.
    const ERROR_TYPE: &str = r#"
        (type $load-failure-def (record (field "message" string) (field "verifier-log" string)))
        (import "load-failure" (type $load-failure (eq $load-failure-def)))
        (type $os-error-def (record (field "errno" u32) (field "message" string)))
        (import "os-error" (type $os-error (eq $os-error-def)))
        (type $error-def (variant
            (case "not-found" string) (case "invalid-argument" string)
            (case "already-exists" string) (case "permission-denied" string)
            (case "unsupported" string) (case "invalid-state" string)
            (case "load-failed" $load-failure) (case "os" $os-error)))
        (import "error" (type $error (eq $error-def)))
    "#;

    /// A component importing `fast` and `plain` of type `result_type`
    /// (returned through a return area at 64 and 128), exporting `run`,
    /// which calls both and returns memory 0..1024 (areas, and the bump
    /// allocator's lists from 256 on).
    fn component(engine: &Engine, result_type: &str) -> Component {
        let wat = format!(
            r#"(component
                {ERROR_TYPE}
                (type $t {result_type})
                (import "fast" (func $fast (result $t)))
                (import "plain" (func $plain (result $t)))
                (core module $libc
                    (memory (export "memory") 1)
                    (global $next (mut i32) (i32.const 256))
                    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
                        (local $at i32)
                        (local.set $at (i32.and
                            (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                            (i32.sub (i32.const 0) (local.get 2))))
                        (global.set $next (i32.add (local.get $at) (local.get 3)))
                        (local.get $at)))
                (core instance $libc (instantiate $libc))
                (core func $fast (canon lower (func $fast)
                    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
                (core func $plain (canon lower (func $plain)
                    (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
                (core module $main
                    (import "host" "fast" (func $fast (param i32)))
                    (import "host" "plain" (func $plain (param i32)))
                    (import "libc" "memory" (memory 1))
                    (func (export "run") (result i32)
                        (call $fast (i32.const 64))
                        (call $plain (i32.const 128))
                        (i32.store (i32.const 0) (i32.const 0))
                        (i32.store (i32.const 4) (i32.const 1024))
                        (i32.const 0)))
                (core instance $main (instantiate $main
                    (with "host" (instance (export "fast" (func $fast)) (export "plain" (func $plain))))
                    (with "libc" (instance $libc))))
                (func (export "run") (result (list u8))
                    (canon lift (core func $main "run") (memory (core memory $libc "memory"))))
            )"#
        );
        let binary = wat::parse_str(wat).expect("the test component parses");
        Component::new(engine, binary).expect("the test component compiles")
    }

    /// Runs the component with `fast` and `plain` bound to these results
    /// and returns its memory: (fast's area, plain's area, the lists).
    fn lowered<F, P>(result_type: &str, fast: F, plain: P) -> (Vec<u8>, Vec<u8>, Vec<u8>)
    where
        F: ComponentType + Lower + Clone + Send + Sync + 'static,
        P: ComponentType + Lower + Clone + Send + Sync + 'static,
    {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("an engine");
        let component = component(&engine, result_type);
        let mut linker = Linker::<()>::new(&engine);
        linker.root().func_wrap("fast", move |_, (): ()| Ok((fast.clone(),))).expect("fast links");
        linker.root().func_wrap("plain", move |_, (): ()| Ok((plain.clone(),))).expect("plain links");
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &component).expect("instantiates");
        let run = instance.get_typed_func::<(), (Vec<u8>,)>(&mut store, "run").expect("run");
        let (memory,) = run.call(&mut store, ()).expect("runs");
        (memory[64..128].to_vec(), memory[128..192].to_vec(), memory[256..].to_vec())
    }

    const WORD_RESULT: &str = "(result (option u64) (error $error))";

    #[test]
    fn word_results_lower_as_the_plain_result_does() {
        for value in [
            Ok(Some(0x1122_3344_5566_7788)),
            Ok(None),
            Err(Error::not_found("no such map")),
            Err(Error::LoadFailed(LoadFailure { message: "m".into(), verifier_log: "v".into() })),
            Err(Error::Os(OsError { errno: 5, message: "io".into() })),
        ] {
            let (fast_area, plain_area, lists) = lowered(WORD_RESULT, WordResult(value.clone()), value.clone());
            if value.is_ok() {
                assert_eq!(fast_area, plain_area, "{value:?}");
                continue;
            }
            // Errors take wasmtime's lowering both ways: the same result
            // and error tags; the strings were allocated twice, fast first,
            // so the addresses differ, not the bytes.
            assert_eq!((fast_area[0], fast_area[8]), (plain_area[0], plain_area[8]), "{value:?}");
            let used = lists.iter().rposition(|&b| b != 0).map_or(0, |end| end + 1);
            let half = used.div_ceil(2);
            assert_eq!(lists[..half], lists[half..2 * half], "{value:?}");
        }
    }

    #[derive(Clone)]
    struct Bytes(Vec<u8>);

    impl ListSource for Bytes {
        type Element = u8;
        fn len(&self) -> usize {
            self.0.len()
        }
        fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
            self.0.as_slice().fill(list)
        }
    }

    #[derive(Clone)]
    struct Words(Vec<u32>);

    impl ListSource for Words {
        type Element = u32;
        fn len(&self) -> usize {
            self.0.len()
        }
        fn fill(&self, list: &mut [u8]) -> wasmtime::Result<()> {
            self.0.as_slice().fill(list)
        }
    }

    /// Lists in a `result<option<list<..>>, error>`, as map lookups
    /// return them: the areas differ only in the list's address, and both
    /// lists hold `bytes`.
    fn compare_lists<F, P>(element: &str, fast: F, plain: P, bytes: &[u8])
    where
        F: ComponentType + Lower + Clone + Send + Sync + 'static,
        P: ComponentType + Lower + Clone + Send + Sync + 'static,
    {
        let ty = format!("(result (option (list {element})) (error $error))");
        let fast: Result<Option<F>, Error> = Ok(Some(fast));
        let plain: Result<Option<P>, Error> = Ok(Some(plain));
        let (fast_area, plain_area, lists) = lowered(&ty, fast, plain);
        // The result's and the option's tags, then (address, length).
        assert_eq!(fast_area[..8], plain_area[..8]);
        let word = |area: &[u8], at: usize| u32::from_le_bytes([area[at], area[at + 1], area[at + 2], area[at + 3]]);
        assert_eq!(word(&fast_area, 12), word(&plain_area, 12), "lengths");
        for area in [&fast_area, &plain_area] {
            let address = word(area, 8) as usize - 256;
            assert_eq!(&lists[address..address + bytes.len()], bytes);
        }
    }

    #[test]
    fn lists_lower_as_vectors_do() {
        let bytes: Vec<u8> = (1..=13).collect();
        compare_lists("u8", List(Bytes(bytes.clone())), bytes.clone(), &bytes);
        let words = vec![7u32, 0x0102_0304, u32::MAX];
        let le: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        compare_lists("u32", List(Words(words.clone())), words, &le);
        compare_lists("u8", List(Bytes(Vec::new())), Vec::<u8>::new(), &[]);
    }
}
