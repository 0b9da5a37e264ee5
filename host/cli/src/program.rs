//! What `bpflet run` runs: a component file, a bare BPF object (under the
//! built-in kernel-only runner), or either from an OCI registry.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};

use crate::{builtin, oci};

/// A program ready to instantiate.
pub struct Program {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// argv[0] of the guest: the component's file stem, or the object's
    /// file name for the kernel-only runner (which finds it by that name).
    pub argv0: String,
    /// BPF objects offered to the guest by name (`open-packaged`).
    pub packaged: Vec<(String, Arc<[u8]>)>,
    /// A bare BPF object, run by the built-in kernel-only runner.
    pub kernel_only: bool,
    /// From a registry: what its manifest declares it needs (granted only
    /// with `--allow-declared`). None for a file.
    pub declared: Option<oci::Declared>,
}

impl Program {
    /// Resolves `reference` (a file or `oci://...`) with the extra objects
    /// given by `--object`.
    pub fn resolve(reference: &Path, objects: &[PathBuf], plain_http: bool) -> anyhow::Result<Self> {
        let text = reference.to_string_lossy();
        let mut packaged = Vec::new();
        let mut declared = None;
        let (bytes, name) = if text.starts_with("oci://") {
            let artifact = oci::pull(&text, plain_http)?;
            declared = Some(artifact.declared);
            for (name, bytes) in &artifact.objects {
                packaged.push((name.clone(), Arc::<[u8]>::from(bytes.as_slice())));
            }
            // A kernel-only artifact runs its first object; all are packaged.
            match (artifact.component, artifact.objects.into_iter().next()) {
                (Some(component), _) => (component, oci::component_file_name(&text)),
                (None, Some((name, object))) => (object, name),
                (None, None) => bail!("the pulled artifact holds no program"),
            }
        } else {
            let bytes = std::fs::read(reference).with_context(|| format!("cannot read {}", reference.display()))?;
            (bytes, file_name(reference))
        };
        let mut program = if bytes.starts_with(b"\x7fELF") {
            // A bare BPF object runs under the embedded kernel-only runner,
            // which finds it among the packaged objects.
            if !packaged.iter().any(|(packaged, _)| *packaged == name) {
                packaged.push((name.clone(), Arc::<[u8]>::from(bytes)));
            }
            Program { component: builtin::RUNNER.to_vec(), argv0: name, packaged, kernel_only: true, declared }
        } else {
            check_header(&bytes)?;
            let stem = Path::new(&name).file_stem().map(|s| s.to_string_lossy().into_owned());
            let argv0 = stem.unwrap_or_else(|| "program".into());
            Program { component: bytes, argv0, packaged, kernel_only: false, declared }
        };
        for path in objects {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read BPF object {}", path.display()))?;
            program.packaged.push((file_name(path), Arc::<[u8]>::from(bytes)));
        }
        Ok(program)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Checks that `bytes` are a component, saying what they are if not.
pub fn check_header(bytes: &[u8]) -> anyhow::Result<()> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00]) => Ok(()),
        Some([0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00]) => bail!(
            "this is a core WebAssembly module, not a component; build for wasm32-wasip2 \
             or wrap it with `wasm-tools component new`"
        ),
        Some([0x7f, b'E', b'L', b'F', ..]) => bail!("this is an ELF file, not a WebAssembly component"),
        _ => bail!("not a WebAssembly component (bad magic number)"),
    }
}
