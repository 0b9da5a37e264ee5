//! The open → configure → load → attach flow, as libbpf-rs has it: an
//! [`OpenObject`] is configured, and [`OpenObject::load`] turns it into an
//! [`Object`], which has the maps and attaches the programs.

use bytemuck::{AnyBitPattern, NoUninit};

use crate::bindings::bpflet::ebpf::ebpf_loader;
use crate::{AttachTarget, BpfMap, BpfObject, Error, Link, LoadOptions, MapInfo, ProgramInfo, Result};

/// The names of the BPF objects that came with the program (a bare object
/// given to `bpflet run`, the objects of a package), for
/// [`OpenObject::open_packaged`].
pub fn packaged_objects() -> Vec<String> {
    ebpf_loader::packaged_objects()
}

/// A BPF object (the ELF clang writes), opened in the host and not loaded
/// yet: the place to set globals and choose which programs load.
///
/// Configuration methods take and return `self`, so that set-up reads as
/// one chain ending in [`load`](Self::load), which gives the loaded
/// [`Object`]:
///
/// ```no_run
/// # fn main() -> Result<(), bpflet_sdk::Error> {
/// use bpflet_sdk::OpenObject;
///
/// let object = OpenObject::open(bpflet_sdk::include_bpf!("syscount"))?
///     .set_global("target_pid", &42u32)?
///     .set_autoload("optional_probe", false)?
///     .load()?;
/// let links = object.attach_all()?;
/// # Ok(()) }
/// ```
///
/// Globals are set before load only: a loaded [`Object`] has no
/// `set_global`, so setting one too late does not compile.
///
/// ```compile_fail,E0599
/// # fn main() -> Result<(), bpflet_sdk::Error> {
/// # let elf: &[u8] = &[];
/// let object = bpflet_sdk::OpenObject::open(elf)?.load()?;
/// let object = object.set_global("target_pid", &42u32)?; // no such method on Object
/// # Ok(()) }
/// ```
pub struct OpenObject {
    raw: BpfObject,
}

impl OpenObject {
    /// Opens ELF bytes (see [`include_bpf!`](crate::include_bpf)) without
    /// loading them.
    pub fn open(elf: &[u8]) -> Result<Self> {
        Self::open_with(elf, &default_options())
    }

    /// Opens ELF bytes with options: BTF to relocate against, object name.
    pub fn open_with(elf: &[u8], options: &LoadOptions) -> Result<Self> {
        BpfObject::open(elf, options).map(|raw| Self { raw })
    }

    /// Opens the object `name` that came with the program (see
    /// [`packaged_objects`]), without copying it through guest memory.
    pub fn open_packaged(name: &str) -> Result<Self> {
        Self::open_packaged_with(name, &default_options())
    }

    /// [`open_packaged`](Self::open_packaged) with options.
    pub fn open_packaged_with(name: &str, options: &LoadOptions) -> Result<Self> {
        BpfObject::open_packaged(name, options).map(|raw| Self { raw })
    }

    /// Sets the global `name` (a `const volatile` or other global). `T`
    /// must have the global's exact size; `bool`, integers, arrays and
    /// `#[repr(C)]` structs without padding all qualify.
    pub fn set_global<T: NoUninit>(self, name: &str, value: &T) -> Result<Self> {
        self.raw.set_global(name, bytemuck::bytes_of(value))?;
        Ok(self)
    }

    /// Chooses whether [`load`](Self::load) loads the program `program`
    /// (by default every program whose section does not start with `?`).
    pub fn set_autoload(self, program: &str, autoload: bool) -> Result<Self> {
        self.raw.set_autoload(program, autoload)?;
        Ok(self)
    }

    /// Reads the global `name`: its initial value, or what
    /// [`set_global`](Self::set_global) set.
    pub fn global<T: AnyBitPattern>(&self, name: &str) -> Result<T> {
        read_global(&self.raw, name)
    }

    /// The object's programs, with whether each will load.
    pub fn programs(&self) -> Vec<ProgramInfo> {
        self.raw.programs()
    }

    /// The object's maps as they will be created (ids are 0 until load).
    pub fn maps(&self) -> Vec<MapInfo> {
        self.raw.maps()
    }

    /// Creates the maps and loads every autoload program. A verifier
    /// rejection is [`Error::LoadFailed`], whose `Display` shows the log.
    pub fn load(self) -> Result<Object> {
        self.raw.load()?;
        Ok(Object { raw: self.raw })
    }

    /// The underlying binding, for what this type does not cover (BTF,
    /// sections, the list of globals).
    pub fn raw(&self) -> &BpfObject {
        &self.raw
    }

    /// Gives back the underlying binding.
    pub fn into_raw(self) -> BpfObject {
        self.raw
    }
}

/// A loaded BPF object: its maps exist and its programs are in the kernel,
/// ready to attach. Made by [`OpenObject::load`].
///
/// Dropping the object unloads its programs; maps stay while a [`BpfMap`]
/// handle to them lives, links stay until dropped.
pub struct Object {
    raw: BpfObject,
}

impl Object {
    /// Reads the global `name` as the kernel has it now (`.bss` and `.data`
    /// change as programs run; `.rodata` stays as loaded).
    pub fn global<T: AnyBitPattern>(&self, name: &str) -> Result<T> {
        read_global(&self.raw, name)
    }

    /// A handle to the map `name`; turn it into a typed map with
    /// `try_into()`.
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

    /// The object's programs (`autoload`: whether it was loaded).
    pub fn programs(&self) -> Vec<ProgramInfo> {
        self.raw.programs()
    }

    /// The object's maps, with their kernel ids.
    pub fn maps(&self) -> Vec<MapInfo> {
        self.raw.maps()
    }

    /// The underlying binding, for what this type does not cover.
    pub fn raw(&self) -> &BpfObject {
        &self.raw
    }

    /// Gives back the underlying binding.
    pub fn into_raw(self) -> BpfObject {
        self.raw
    }
}

fn default_options() -> LoadOptions {
    LoadOptions { btf_path: None, object_name: None }
}

/// The global `name` as a `T`, which must be exactly its size.
fn read_global<T: AnyBitPattern>(raw: &BpfObject, name: &str) -> Result<T> {
    let bytes = raw.global(name)?;
    bytemuck::try_pod_read_unaligned(&bytes).map_err(|_| {
        Error::invalid(format!(
            "global {name:?} is {} bytes, {} is {}",
            bytes.len(),
            core::any::type_name::<T>(),
            size_of::<T>()
        ))
    })
}
