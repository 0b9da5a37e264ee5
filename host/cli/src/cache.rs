//! The compiled-component cache: the native code wasmtime compiled for a
//! program, keyed by the content of every part that went into it (the
//! program and every plug-in that could be assembled with it), so that a
//! second start neither assembles nor compiles.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Context;
use wasmtime::component::Component;
use wasmtime::Engine;

/// `$BPFLET_CACHE_DIR`, else `$XDG_CACHE_HOME/bpflet/components`, else
/// `~/.cache/bpflet/components`.
fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BPFLET_CACHE_DIR") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("bpflet").join("components"))
}

/// The parts a program is made of, hashed as they come: BLAKE3, a content
/// hash several times faster than SHA-256 here, which matters for
/// multi-megabyte (Go) components on every start.
pub struct Key(blake3::Hasher);

impl Key {
    /// A key for code compiled by `engine`: it covers everything in the
    /// engine that makes compiled code incompatible (wasmtime version,
    /// settings, CPU features).
    pub fn new(engine: &Engine) -> Self {
        let mut compat = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        let mut digest = blake3::Hasher::new();
        digest.update(&compat.finish().to_le_bytes());
        Key(digest)
    }

    /// Adds one part; parts are length-prefixed, so no two lists of parts
    /// hash alike.
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }
}

/// A program ready to instantiate, and what was plugged into it.
pub struct Loaded {
    pub component: Component,
    /// (interface, provider) lines of the assembly, kept beside the code.
    pub plugged: Vec<String>,
    /// Whether it came from the cache (nothing assembled or compiled).
    pub cached: bool,
}

/// Loads the native code cached under `key`, or makes the component with
/// `make` (which assembles it: bytes and what it plugged), compiles it and
/// caches both.
pub fn load_component(
    engine: &Engine,
    key: &Key,
    use_cache: bool,
    make: impl FnOnce() -> anyhow::Result<(Vec<u8>, Vec<String>)>,
) -> anyhow::Result<Loaded> {
    let cached = use_cache.then(cache_dir).flatten().map(|dir| dir.join(key.0.finalize().to_hex().as_str()));
    if let Some(base) = &cached {
        let code = base.with_extension("cwasm");
        if code.exists() {
            // SAFETY: the file was written by Component::serialize of this
            // engine configuration (the key includes its compatibility hash)
            // into bpflet's own cache directory.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &code) } {
                let plugged = std::fs::read_to_string(base.with_extension("plugged")).unwrap_or_default();
                let plugged = plugged.lines().map(str::to_string).collect();
                return Ok(Loaded { component, plugged, cached: true });
            }
        }
    }
    let (bytes, plugged) = make()?;
    let component = Component::new(engine, &bytes)
        .map_err(anyhow::Error::from)
        .context("the component is malformed or uses features bpflet does not support")?;
    if let Some(base) = &cached {
        // A cache that cannot be written only costs speed.
        let _ = write(&component, &plugged, base);
    }
    Ok(Loaded { component, plugged, cached: false })
}

fn write(component: &Component, plugged: &[String], base: &Path) -> anyhow::Result<()> {
    let dir = base.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, plugged.iter().map(|line| format!("{line}\n")).collect::<String>())?;
    std::fs::rename(&tmp, base.with_extension("plugged"))?;
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, base.with_extension("cwasm"))?;
    Ok(())
}
