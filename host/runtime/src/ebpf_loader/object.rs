//! A BPF object's life: open → configure (globals, autoload) → load, as
//! libbpf-rs has it (`OpenObject` → `Object`), behind one resource whose
//! state says which calls fit.

use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use libbpf_rs::{MapCore, Object, ObjectBuilder, OpenObject};

use crate::bindings::btf::BtfType;
use crate::bindings::ebpf_loader::{GlobalInfo, LoadOptions, MapTypes, ProgramInfo, ProgramType};
use crate::bindings::maps::MapInfo;
use crate::error::Context;
use crate::maps::{map_type_from_raw, BpfMap};
use crate::{btf, kernel, sys, Error, Policy};

type Result<T> = std::result::Result<T, Error>;

/// Maps an object asks libbpf to pin by name (`LIBBPF_PIN_BY_NAME`) are
/// not pinned: a pin would outlive the program, and libbpf would reuse
/// (read and write) a map that someone else pinned under the same name.
/// With their pin paths cleared before load they are the program's own
/// maps, gone when it ends.
fn unpin_maps(object: &mut OpenObject) -> Result<()> {
    use libbpf_rs::AsRawLibbpf as _;
    for map in object.maps_mut() {
        let raw = map.as_libbpf_object();
        // SAFETY: `raw` is a map of the open object we own, alive for the
        // call; a null path makes libbpf free the pin path and forget it.
        let ret = unsafe { libbpf_sys::bpf_map__set_pin_path(raw.as_ptr(), std::ptr::null()) };
        if ret != 0 {
            return Err(
                Error::from(std::io::Error::from_raw_os_error(-ret)).context(format!("unpinning map {:?}", map.name()))
            );
        }
    }
    Ok(())
}

/// A global variable located by BTF: which internal map holds it and where.
struct Global {
    name: String,
    section: String,
    offset: usize,
    size: usize,
    type_id: u32,
}

impl Global {
    fn info(&self) -> GlobalInfo {
        GlobalInfo {
            name: self.name.clone(),
            section: self.section.clone(),
            size: self.size as u32,
            read_only: self.section.starts_with(".rodata"),
            type_id: self.type_id,
        }
    }
}

pub(super) enum State {
    Open(OpenObject),
    Loaded(Object),
    /// A failed load consumes libbpf's open object; nothing is left to use.
    Failed,
}

pub struct BpfObject {
    pub(super) state: State,
    globals: Vec<Global>,
    /// The object's BTF as the guest sees it, read once at open.
    pub(super) btf: Vec<BtfType>,
    /// The ELF as given, for `section`.
    elf: Arc<[u8]>,
    /// The ids of this object's maps charged to the guest
    /// (`Limit::KernelMemory`); it holds each until dropped.
    pub(super) charged: Vec<u32>,
}

/// Where the kernel's BTF files are; a guest may always name them.
const KERNEL_BTF: &str = "/sys/kernel/btf";

/// The BTF file `path` names, with every symbolic link resolved, if it is
/// a regular file under /sys/kernel/btf or one of `dirs`; anything else is
/// refused before it is opened (and, outside those directories, before it
/// is looked at, so that the error does not tell whether it exists).
fn btf_file(path: &str, dirs: &[PathBuf]) -> Result<String> {
    let allowed = |resolved: &Path| {
        std::iter::once(Path::new(KERNEL_BTF).to_path_buf())
            .chain(dirs.iter().filter_map(|dir| std::fs::canonicalize(dir).ok()))
            .any(|dir| resolved.starts_with(dir))
    };
    let refused = || {
        Error::permission_denied(format!(
            "BTF file {path:?} is outside {KERNEL_BTF} and the directories given to the program (bpflet run --dir)"
        ))
    };
    // Lexically first, so that nothing outside is even looked at.
    if !Path::new(path).is_absolute() || Path::new(path).components().any(|c| c == Component::ParentDir) {
        return Err(Error::invalid_argument(format!("BTF file {path:?} is not an absolute path without ..")));
    }
    let lexical = Path::new(path);
    let under = std::iter::once(Path::new(KERNEL_BTF)).chain(dirs.iter().map(PathBuf::as_path));
    if !under.clone().any(|dir| lexical.starts_with(dir)) {
        return Err(refused());
    }
    let resolved = std::fs::canonicalize(lexical).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("BTF file {path:?} does not exist")),
        _ => Error::from(e).context(format!("BTF file {path:?}")),
    })?;
    // A symbolic link may still lead out.
    if !allowed(&resolved) {
        return Err(refused());
    }
    let resolved = resolved.to_str().ok_or_else(|| Error::invalid_argument("BTF path is not UTF-8"))?.to_string();
    super::host_path(&resolved, false, "BTF file")?;
    Ok(resolved)
}

impl BpfObject {
    /// Opens `elf`, named as `options` say or else `default_name` (libbpf
    /// would name it after its address in bpflet's memory, which the
    /// guest would then read in messages).
    ///
    /// A BTF file (`options.btf-path`) must lie under /sys/kernel/btf or
    /// in one of `dirs`, the host directories the user gave the guest.
    pub(super) fn open(elf: Arc<[u8]>, options: &LoadOptions, default_name: &str, dirs: &[PathBuf]) -> Result<Self> {
        let mut builder = ObjectBuilder::default();
        let name = options.object_name.as_deref().unwrap_or(default_name);
        builder.name(name).context("object name")?;
        if let Some(path) = &options.btf_path {
            let path = btf_file(path, dirs)?;
            builder.btf_custom_path(&path).context("BTF path")?;
        }
        let (opened, log) = kernel::with_libbpf_log(|| builder.open_memory(&elf));
        let opened = opened.map_err(|e| {
            // libbpf says why in its log ("elf: ... is not a valid eBPF
            // object file"); its error code alone (LIBBPF_ERRNO__FORMAT) is opaque.
            let why = kernel::verifier_log_tail(&log, 3);
            let why = if why.is_empty() { format!("{e:#}") } else { why.replace("libbpf: ", "") };
            match Error::from(e) {
                denied @ Error::PermissionDenied(_) => denied,
                _ => Error::invalid_argument(format!("not a usable BPF ELF object (clang -target bpf output): {why}")),
            }
        })?;
        let mut opened = opened;
        unpin_maps(&mut opened)?;
        let btf = btf::of_open_object(&opened);
        let globals = globals_of(&btf);
        Ok(BpfObject { state: State::Open(opened), globals, btf, elf, charged: Vec::new() })
    }

    fn global_named(&self, name: &str) -> Result<&Global> {
        self.globals
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::not_found(format!("no global variable {name:?} in the object")))
    }

    pub(super) fn loaded_mut(&mut self) -> Result<&mut Object> {
        match &mut self.state {
            State::Loaded(obj) => Ok(obj),
            State::Open(_) => Err(Error::invalid_state("the object is not loaded yet; call load first")),
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    fn open_mut(&mut self, what: &str) -> Result<&mut OpenObject> {
        match &mut self.state {
            State::Open(obj) => Ok(obj),
            State::Loaded(_) => Err(Error::invalid_state(format!("{what} must happen before load"))),
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    /// Each map of the loaded object, by id, with the kernel memory it
    /// pins as the kernel counts it (`memlock` in its fdinfo); none before
    /// load. An error when the kernel does not say.
    pub(super) fn map_memory(&self) -> Result<Vec<(u32, u64)>> {
        let State::Loaded(obj) = &self.state else { return Ok(Vec::new()) };
        obj.maps()
            .map(|m| {
                let id = m.info().map(|info| info.info.id).context("reading a map's id")?;
                let bytes = sys::memlock(m.as_fd()).context("reading the kernel memory a map pins")?;
                Ok((id, bytes))
            })
            .collect()
    }

    /// Unloads a loaded object, which then reads as one that failed to
    /// load.
    pub(super) fn unload(&mut self) {
        self.state = State::Failed;
    }

    pub(super) fn is_loaded(&self) -> bool {
        matches!(self.state, State::Loaded(_))
    }

    pub(super) fn globals(&self) -> Vec<GlobalInfo> {
        self.globals.iter().map(Global::info).collect()
    }

    pub(super) fn set_global(&mut self, name: &str, value: &[u8]) -> Result<()> {
        let global = self.global_named(name)?;
        if value.len() != global.size {
            return Err(Error::invalid_argument(format!(
                "global {name:?} is {} bytes, the value is {}",
                global.size,
                value.len()
            )));
        }
        let (section, range) = (global.section.clone(), global.offset..global.offset + global.size);
        let open = self.open_mut("setting a global")?;
        let mut map = open
            .maps_mut()
            .find(|m| section_matches(&m.name().to_string_lossy(), &section))
            .ok_or_else(|| Error::not_found(format!("no map for section {section}")))?;
        let data = map
            .initial_value_mut()
            .ok_or_else(|| Error::invalid_state(format!("section {section} has no initial value")))?;
        data.get_mut(range)
            .ok_or_else(|| Error::invalid_state(format!("section {section} is shorter than its BTF says")))?
            .copy_from_slice(value);
        Ok(())
    }

    pub(super) fn global(&self, name: &str) -> Result<Vec<u8>> {
        let global = self.global_named(name)?;
        let range = global.offset..global.offset + global.size;
        let no_map = || Error::not_found(format!("no map for section {}", global.section));
        match &self.state {
            State::Open(open) => {
                let map = open
                    .maps()
                    .find(|m| section_matches(&m.name().to_string_lossy(), &global.section))
                    .ok_or_else(no_map)?;
                let data = map.initial_value().unwrap_or(&[]);
                data.get(range).map(<[u8]>::to_vec).ok_or_else(|| {
                    Error::invalid_state(format!("section {} is shorter than its BTF says", global.section))
                })
            }
            State::Loaded(obj) => {
                let map = obj
                    .maps()
                    .find(|m| section_matches(&m.name().to_string_lossy(), &global.section))
                    .ok_or_else(no_map)?;
                let value = map
                    .lookup(&0u32.to_ne_bytes(), libbpf_rs::MapFlags::ANY)
                    .with_context(|| format!("reading global {name:?}"))?
                    .unwrap_or_default();
                value
                    .get(range)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| Error::invalid_state(format!("section {} is shorter than expected", global.section)))
            }
            State::Failed => Err(Error::invalid_state("the object failed to load")),
        }
    }

    pub(super) fn set_autoload(&mut self, program: &str, autoload: bool) -> Result<()> {
        let open = self.open_mut("set-autoload")?;
        let mut prog = open
            .progs_mut()
            .find(|p| p.name() == program)
            .ok_or_else(|| Error::not_found(format!("no program {program:?} in the object")))?;
        prog.set_autoload(autoload);
        Ok(())
    }

    /// Loads the object, once no program that would load calls a helper
    /// `policy` does not grant.
    pub(super) fn load(&mut self, policy: &Policy) -> Result<()> {
        if let State::Open(open) = &self.state {
            let mut loading = false;
            for program in open.progs().filter(|p| p.autoload()) {
                policy.check_helpers(&format!("program {:?}", program.name().to_string_lossy()), program.insns())?;
                loading = true;
            }
            // Functions that are not inlined live in .text, and libbpf joins
            // the ones a program calls to it at load: all are looked at.
            if let Some(text) = self.section(".text").filter(|_| loading) {
                policy.check_helpers("a function in .text", &instructions(&text))?;
            }
            // Kernel functions (kfuncs) are named in the object's BTF.
            for t in &self.btf {
                if matches!(t.kind, crate::bindings::btf::Kind::Func(_)) {
                    policy.check_kfunc(&t.name)?;
                }
            }
        }
        let open = match std::mem::replace(&mut self.state, State::Failed) {
            State::Open(open) => open,
            other => {
                self.state = other;
                return Err(Error::invalid_state("the object is already loaded (or failed to load)"));
            }
        };
        let (loaded, log) = kernel::with_libbpf_log(|| open.load());
        let error = match loaded {
            Ok(obj) => {
                self.state = State::Loaded(obj);
                return Ok(());
            }
            Err(error) => error,
        };
        let verifier_log = kernel::verifier_log_tail(&log, 30);
        // libbpf names the program the kernel refused:
        // "prog 'bad': BPF program load failed: Permission denied".
        let failed_line = log
            .lines()
            .find(|l| l.contains("BPF program load failed"))
            .map(|l| l.trim_start_matches("libbpf: ").to_string());
        // Only a refusal the verifier explained is its verdict; one before
        // verification (EPERM for a program type the kernel withholds,
        // ENOMEM, ...) has no verifier log to show and is classified by its
        // errno.
        let verified = log.contains("-- BEGIN PROG LOAD LOG --") && !verifier_log.is_empty();
        Err(match failed_line {
            Some(message) if verified => Error::LoadFailed(crate::LoadFailure { message, verifier_log }),
            _ => Error::from(error)
                .context("loading the BPF object")
                .with_detail(&kernel::verifier_log_tail(&log, 5).replace("libbpf: ", "")),
        })
    }

    pub(super) fn programs(&self) -> Vec<ProgramInfo> {
        let info = |name: &std::ffi::OsStr, section: &std::ffi::OsStr, ty: u32, autoload: bool| ProgramInfo {
            name: name.to_string_lossy().into_owned(),
            section: section.to_string_lossy().into_owned(),
            program_type: program_type_from_raw(ty),
            autoload,
        };
        match &self.state {
            State::Open(open) => {
                open.progs().map(|p| info(p.name(), p.section(), p.prog_type() as u32, p.autoload())).collect()
            }
            State::Loaded(obj) => {
                obj.progs().map(|p| info(p.name(), p.section(), p.prog_type() as u32, p.autoload())).collect()
            }
            State::Failed => Vec::new(),
        }
    }

    pub(super) fn maps(&self) -> Vec<MapInfo> {
        let cpus = kernel::possible_cpus() as u32;
        match &self.state {
            State::Open(open) => open
                .maps()
                .map(|m| MapInfo {
                    name: m.name().to_string_lossy().into_owned(),
                    map_type: map_type_from_raw(m.map_type() as u32),
                    key_size: m.key_size(),
                    value_size: m.value_size(),
                    max_entries: m.max_entries(),
                    map_flags: m.map_flags(),
                    id: 0,
                    possible_cpus: cpus,
                    per_cpu: m.map_type().is_percpu(),
                })
                .collect(),
            State::Loaded(obj) => obj
                .maps()
                .filter_map(|m| libbpf_rs::MapHandle::try_from(&m).ok())
                .filter_map(|h| BpfMap::new(h).ok().map(|m| m.info().clone()))
                .collect(),
            State::Failed => Vec::new(),
        }
    }

    pub(super) fn map_types(&self, name: &str) -> Result<MapTypes> {
        let missing = || Error::not_found(format!("no map {name:?} in the object"));
        let (key, value) = match &self.state {
            State::Open(open) => btf::map_type_ids(&open.maps().find(|m| m.name() == name).ok_or_else(missing)?),
            State::Loaded(obj) => btf::map_type_ids(&obj.maps().find(|m| m.name() == name).ok_or_else(missing)?),
            State::Failed => return Err(Error::invalid_state("the object failed to load")),
        };
        let definition = btf::var_in_section(&self.btf, ".maps", name).unwrap_or(0);
        Ok(MapTypes { key, value, definition })
    }

    pub(super) fn map(&mut self, name: &str) -> Result<BpfMap> {
        let obj = self.loaded_mut()?;
        let map = obj
            .maps()
            .find(|m| m.name() == name)
            .ok_or_else(|| Error::not_found(format!("no map {name:?} in the object")))?;
        BpfMap::new(libbpf_rs::MapHandle::try_from(&map).context("opening map")?)
    }

    /// The raw bytes of ELF section `name`.
    pub(super) fn section(&self, name: &str) -> Option<Vec<u8>> {
        use object::{Object as _, ObjectSection as _};
        let file = object::File::parse(&*self.elf).ok()?;
        let section = file.section_by_name(name)?;
        section.data().ok().map(<[u8]>::to_vec)
    }
}

/// BPF instructions from the bytes of an ELF section (8 bytes each,
/// little-endian: code, registers, offset, immediate).
fn instructions(bytes: &[u8]) -> Vec<libbpf_sys::bpf_insn> {
    bytes
        .chunks_exact(8)
        .map(|b| libbpf_sys::bpf_insn {
            code: b[0],
            _bitfield_align_1: [],
            _bitfield_1: libbpf_sys::bpf_insn::new_bitfield_1(b[1] & 0x0f, b[1] >> 4),
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect()
}

/// libbpf names an object's internal maps `<object prefix>.<section>`.
/// Sections start with a dot, so `x.rodata` never matches `.data`.
fn section_matches(map_name: &str, section: &str) -> bool {
    map_name.ends_with(section)
}

/// Every global variable the object's BTF places in a data section.
fn globals_of(types: &[BtfType]) -> Vec<Global> {
    use crate::bindings::btf::Kind;
    let mut globals = Vec::new();
    for sec in types {
        let Kind::Datasec(datasec) = &sec.kind else { continue };
        if !sec.name.starts_with(".data") && !sec.name.starts_with(".bss") && !sec.name.starts_with(".rodata") {
            continue;
        }
        for var in &datasec.vars {
            let Some(v) = types.get(var.type_ as usize) else { continue };
            let Kind::Var(var_type) = &v.kind else { continue };
            globals.push(Global {
                name: v.name.clone(),
                section: sec.name.clone(),
                offset: var.offset as usize,
                size: var.size as usize,
                type_id: var_type.type_,
            });
        }
    }
    globals
}

const PROGRAM_TYPES: [ProgramType; 33] = {
    use crate::bindings::ebpf_loader::ProgramType::*;
    [
        Unspec,
        SocketFilter,
        Kprobe,
        SchedCls,
        SchedAct,
        Tracepoint,
        Xdp,
        PerfEvent,
        CgroupSkb,
        CgroupSock,
        LwtIn,
        LwtOut,
        LwtXmit,
        SockOps,
        SkSkb,
        CgroupDevice,
        SkMsg,
        RawTracepoint,
        CgroupSockAddr,
        LwtSeg6local,
        LircMode2,
        SkReuseport,
        FlowDissector,
        CgroupSysctl,
        RawTracepointWritable,
        CgroupSockopt,
        Tracing,
        StructOps,
        Ext,
        Lsm,
        SkLookup,
        Syscall,
        Netfilter,
    ]
};

/// BPF_PROG_TYPE_* (the WIT enum follows the kernel's order).
fn program_type_from_raw(raw: u32) -> ProgramType {
    PROGRAM_TYPES.get(raw as usize).copied().unwrap_or(ProgramType::Unknown)
}
