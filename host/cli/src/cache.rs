//! The compiled-component cache: the native code wasmtime compiled for a
//! program, keyed by the content of every part that went into it (the
//! program and every plug-in that could be assembled with it), so that a
//! second start neither assembles nor compiles.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use wasmtime::component::Component;
use wasmtime::Engine;

/// The cache directory, if one may be trusted ([`distrust`], judged once
/// per start): `$BPFLET_CACHE_DIR`, else `$XDG_CACHE_HOME/bpflet/components`,
/// else `~/.cache/bpflet/components`; for root whose home directory is
/// another user's (`sudo` keeping `HOME`), who could change what root
/// runs, `/var/cache/bpflet/components` instead. A directory refused is
/// said on stderr.
fn trusted_cache_dir() -> Option<PathBuf> {
    let judged = |dir: PathBuf| match distrust(&dir) {
        None => Some(dir),
        Some(why) => {
            eprintln!("bpflet: not using the compiled cache {}: {why}; compiling in memory", dir.display());
            None
        }
    };
    if let Some(dir) = std::env::var_os("BPFLET_CACHE_DIR") {
        return judged(dir.into());
    }
    // A relative XDG_CACHE_HOME is to be ignored (the XDG spec).
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|base| base.join("bpflet").join("components"));
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let system = || judged(PathBuf::from("/var/cache/bpflet/components"));
    match home {
        Some(dir) if root => match distrust(&dir) {
            None => Some(dir),
            Some(_) => system(),
        },
        Some(dir) => judged(dir),
        None if root => system(),
        None => None,
    }
}

/// Why bpflet may not trust the cache at `dir`, if it may not. Its files
/// are native code that wasmtime maps and runs as they are, so whoever can
/// change them can make bpflet (root) run anything: `dir` must belong to
/// this user and be writable by nobody else, and so must every directory
/// above it (or be root's, or be sticky like /tmp, where nobody can
/// replace another's entries). A `dir` that does not exist yet is judged
/// by its parents: bpflet creates it with mode 0700.
pub fn distrust(dir: &Path) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    // The directories the files really live in: absolute, with the links
    // in the part that exists resolved.
    let dir = match real_path(dir) {
        Ok(dir) => dir,
        Err(e) => return Some(format!("{} cannot be resolved: {e}", dir.display())),
    };
    let dir = dir.as_path();
    let mut checked = Some(dir);
    while let Some(path) = checked {
        checked = path.parent();
        let Ok(meta) = std::fs::metadata(path) else {
            if path == dir || !path.exists() {
                continue;
            }
            return Some(format!("{} cannot be read", path.display()));
        };
        let mode = meta.permissions().mode();
        let sticky = mode & 0o1000 != 0 && path != dir;
        if meta.uid() != me && meta.uid() != 0 {
            return Some(format!("{} belongs to user {}", path.display(), meta.uid()));
        }
        if mode & 0o022 != 0 && !sticky {
            return Some(format!("{} is writable by others (mode {:o})", path.display(), mode & 0o7777));
        }
    }
    None
}

/// `path` made absolute, its longest existing prefix canonical (links
/// resolved), the rest appended as it is.
fn real_path(path: &Path) -> std::io::Result<PathBuf> {
    let mut existing = std::path::absolute(path)?;
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => rest.push(name.to_os_string()),
            None => break,
        }
        existing.pop();
    }
    let mut real = existing.canonicalize()?;
    real.extend(rest.iter().rev());
    Ok(real)
}

/// Whether a cached file may be loaded: this user's, and writable by
/// nobody else (in a directory [`distrust`] found sound).
fn trusted_file(path: &Path) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    std::fs::symlink_metadata(path)
        .is_ok_and(|m| m.file_type().is_file() && m.uid() == me && m.permissions().mode() & 0o022 == 0)
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
    let dir = use_cache.then(trusted_cache_dir).flatten();
    let cached = dir.map(|dir| dir.join(key.0.finalize().to_hex().as_str()));
    if let Some(base) = &cached {
        let code = base.with_extension("cwasm");
        if trusted_file(&code) {
            // SAFETY: the file is in a directory only this user (or root)
            // can write, is this user's and writable by nobody else: only
            // bpflet wrote it, with Component::serialize of this engine
            // configuration (the key includes its compatibility hash).
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &code) } {
                let plugged = base.with_extension("plugged");
                let plugged = if trusted_file(&plugged) {
                    std::fs::read_to_string(plugged).unwrap_or_default()
                } else {
                    String::new()
                };
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
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    // Written aside with mode 0600 (whatever the umask), then renamed in.
    let put = |bytes: &[u8], to: PathBuf| -> anyhow::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        std::fs::rename(&tmp, to)?;
        Ok(())
    };
    put(plugged.iter().map(|line| format!("{line}\n")).collect::<String>().as_bytes(), base.with_extension("plugged"))?;
    put(&component.serialize()?, base.with_extension("cwasm"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_others_can_write_or_replace_is_distrusted() {
        let base = std::env::temp_dir().join(format!("bpflet-distrust-{}", std::process::id()));
        let dir = base.join("cache");
        std::fs::create_dir_all(&dir).unwrap();
        let mode =
            |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        mode(&base, 0o755);
        mode(&dir, 0o700);
        // Under /tmp: root's and sticky.
        assert_eq!(distrust(&dir), None);
        assert_eq!(distrust(&dir.join("not-made-yet")), None);
        mode(&dir, 0o770);
        assert_eq!(distrust(&dir), Some(format!("{} is writable by others (mode 770)", dir.display())));
        mode(&dir, 0o700);
        // A parent others can write could have the cache replaced...
        mode(&base, 0o777);
        assert_eq!(distrust(&dir), Some(format!("{} is writable by others (mode 777)", base.display())));
        // ... unless it is sticky.
        mode(&base, 0o1777);
        assert_eq!(distrust(&dir), None);
        // A link is judged by where it leads.
        mode(&base, 0o755);
        let open = base.join("open");
        std::fs::create_dir_all(open.join("cache")).unwrap();
        mode(&open, 0o777);
        let link = base.join("link");
        std::os::unix::fs::symlink(open.join("cache"), &link).unwrap();
        assert_eq!(distrust(&link), Some(format!("{} is writable by others (mode 777)", open.display())));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
