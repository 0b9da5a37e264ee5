//! The compiled-component cache: the native code wasmtime compiled for a
//! component, by content, so that the second start skips compilation.

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

/// Compiles `bytes` (a component), or loads the native code compiled for
/// them earlier. The cache key covers the bytes and everything in the
/// engine that makes compiled code incompatible (wasmtime version,
/// settings, CPU features).
pub fn load_component(engine: &Engine, bytes: &[u8], use_cache: bool) -> anyhow::Result<Component> {
    let cached = use_cache.then(cache_dir).flatten().map(|dir| {
        let mut compat = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        // BLAKE3: a content hash several times faster than SHA-256 here,
        // which matters for multi-megabyte (Go) components on every start.
        let mut digest = blake3::Hasher::new();
        digest.update(&compat.finish().to_le_bytes());
        digest.update(bytes);
        dir.join(format!("{}.cwasm", digest.finalize().to_hex()))
    });
    if let Some(path) = &cached {
        if path.exists() {
            // SAFETY: the file was written by Component::serialize of this
            // engine configuration (the key includes its compatibility hash)
            // into bpflet's own cache directory.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, path) } {
                return Ok(component);
            }
        }
    }
    let component = Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("the component is malformed or uses features bpflet does not support")?;
    if let Some(path) = &cached {
        // A cache that cannot be written only costs speed.
        let _ = write(&component, path);
    }
    Ok(component)
}

fn write(component: &Component, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().context("cache path has no parent")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
