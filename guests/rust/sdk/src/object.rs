//! The open → configure → load → attach flow, as libbpf-rs has it.

use bytemuck::{AnyBitPattern, NoUninit};

use crate::{AttachTarget, BpfMap, BpfObject, Error, Link, LoadOptions, Result};

/// A BPF object (the ELF clang writes), opened in the host.
///
/// Configuration methods take and return `self` so that set-up reads as one
/// chain ending in [`load`](Self::load):
///
/// ```no_run
/// # fn main() -> Result<(), bpflet_sdk::Error> {
/// let object = bpflet_sdk::Object::open(bpflet_sdk::include_bpf!("syscount"))?
///     .set_global("target_pid", &42u32)?
///     .load()?;
/// let links = object.attach_all()?;
/// # Ok(()) }
/// ```
///
/// Dropping the object unloads its programs; maps stay while a [`BpfMap`]
/// handle to them lives, links stay until dropped.
pub struct Object {
    raw: BpfObject,
}

impl Object {
    /// Opens ELF bytes (see [`include_bpf!`](crate::include_bpf)) without
    /// loading them.
    pub fn open(elf: &[u8]) -> Result<Self> {
        Self::open_with(elf, &LoadOptions { btf_path: None, object_name: None })
    }

    /// Opens ELF bytes with options: BTF to relocate against, object name.
    pub fn open_with(elf: &[u8], options: &LoadOptions) -> Result<Self> {
        BpfObject::open(elf, options).map(|raw| Self { raw })
    }

    /// Sets the global `name` (a `const volatile` or other global) before
    /// load. `T` must have the global's exact size; `bool`, integers,
    /// arrays and `#[repr(C)]` structs without padding all qualify.
    pub fn set_global<T: NoUninit>(self, name: &str, value: &T) -> Result<Self> {
        self.raw.set_global(name, bytemuck::bytes_of(value))?;
        Ok(self)
    }

    /// Chooses whether [`load`](Self::load) loads the program `program`.
    pub fn set_autoload(self, program: &str, autoload: bool) -> Result<Self> {
        self.raw.set_autoload(program, autoload)?;
        Ok(self)
    }

    /// Creates the maps and loads every autoload program. A verifier
    /// rejection is [`Error::LoadFailed`], whose `Display` shows the log.
    pub fn load(self) -> Result<Self> {
        self.raw.load()?;
        Ok(self)
    }

    /// Reads the global `name`: its initial value before load, the kernel's
    /// current value after (`.bss`/`.data` change as programs run).
    pub fn global<T: AnyBitPattern>(&self, name: &str) -> Result<T> {
        let bytes = self.raw.global(name)?;
        bytemuck::try_pod_read_unaligned(&bytes).map_err(|_| {
            Error::invalid(format!(
                "global {name:?} is {} bytes, {} is {}",
                bytes.len(),
                core::any::type_name::<T>(),
                core::mem::size_of::<T>()
            ))
        })
    }

    /// A handle to the map `name` of the loaded object; turn it into a
    /// typed map with `try_into()`.
    pub fn map(&self, name: &str) -> Result<BpfMap> {
        self.raw.get_map(name)
    }

    /// Attaches the loaded program `program` to `target`.
    pub fn attach(&self, program: &str, target: &AttachTarget) -> Result<Link> {
        self.raw.attach(program, target)
    }

    /// Attaches every loaded program where its section says
    /// ([`AttachTarget::Auto`]), as a libbpf skeleton's `attach` does.
    /// Programs whose section names no target (`xdp`, `tc`, ...) come back
    /// `unsupported` and are skipped, as libbpf skips them; attach those with
    /// [`attach`](Self::attach). Any other failure detaches what was attached
    /// (the links drop) and returns the error.
    pub fn attach_all(&self) -> Result<Vec<Link>> {
        let mut links = Vec::new();
        for program in self.raw.programs().into_iter().filter(|p| p.autoload) {
            match self.raw.attach(&program.name, &AttachTarget::Auto) {
                Ok(link) => links.push(link),
                Err(Error::Unsupported(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(links)
    }

    /// The underlying binding, for programs, maps, globals and the rest.
    pub fn raw(&self) -> &BpfObject {
        &self.raw
    }

    /// Gives back the underlying binding.
    pub fn into_raw(self) -> BpfObject {
        self.raw
    }
}
