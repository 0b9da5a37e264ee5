//! Where `bpflet run` finds the plug-ins a program imports, in order:
//! `--plug FILE|oci://REF` (repeatable), the directories of
//! `BPFLET_PLUGIN_PATH` (colon-separated, each one's `*.wasm` files), then
//! the providers built into bpflet. `bpflet_runtime::assemble` does the
//! rest.

use std::path::{Path, PathBuf};

use anyhow::Context;
use bpflet_runtime::assemble::{self, Assembly, Place, Provider, Server};

use crate::cache::Key;
use crate::program::Program;
use crate::{builtin, oci};

/// Every provider `run` may plug, place by place: `--plug`, each
/// directory of `BPFLET_PLUGIN_PATH`, the built-in providers (if
/// `built_in`).
pub fn places(plugs: &[String], built_in: bool, plain_http: bool) -> anyhow::Result<Vec<Place>> {
    let mut places = vec![Place { name: "--plug".into(), providers: plugged(plugs, plain_http)?, must_serve: true }];
    for dir in plugin_path() {
        let providers = directory(&dir)?;
        places.push(Place { name: format!("{} (BPFLET_PLUGIN_PATH)", dir.display()), providers, must_serve: false });
    }
    if built_in {
        let providers = builtin::PROVIDERS
            .iter()
            .map(|(name, bytes)| Provider { origin: format!("built-in {name}"), bytes: bytes.to_vec() })
            .collect();
        places.push(Place { name: "the built-in providers".into(), providers, must_serve: false });
    }
    Ok(places)
}

/// Adds to `key` everything an assembly from `places` depends on: every
/// provider's bytes, where it stands, the imports plug-ins may have and
/// the sandbox they get.
pub fn add_to_key(key: &mut Key, places: &[Place], allowed: &[String]) {
    key.part(builtin::SANDBOX);
    for place in places {
        key.part(place.name.as_bytes());
        for provider in &place.providers {
            key.part(provider.origin.as_bytes()).part(&provider.bytes);
        }
    }
    for interface in allowed {
        key.part(interface.as_bytes());
    }
}

/// Composes `component` with the plug-ins it imports, found in `places`
/// (a component that needs none, with no `--plug` given, comes back as it
/// is), and the plug-ins with the built-in sandbox where they ask for
/// files or the environment. Returns the bytes and one line per plugged
/// import (`INTERFACE from PROVIDER`).
pub fn assemble(component: Vec<u8>, places: Vec<Place>, allowed: &[String]) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    let Assembly { component, plugged } =
        assemble::assemble(component, places, allowed, Some(builtin::SANDBOX.to_vec()))?;
    Ok((component, plugged.into_iter().map(|(interface, origin)| format!("{interface} from {origin}")).collect()))
}

/// The `--plug` components, read or pulled.
fn plugged(plugs: &[String], plain_http: bool) -> anyhow::Result<Vec<Provider>> {
    let mut providers = Vec::new();
    for plug in plugs {
        let bytes = if plug.starts_with("oci://") {
            oci::pull(plug, plain_http)?
                .component
                .with_context(|| format!("--plug {plug}: the artifact holds no component"))?
        } else {
            std::fs::read(plug).with_context(|| format!("--plug {plug}: cannot read it"))?
        };
        crate::program::check_header(&bytes).with_context(|| format!("--plug {plug}"))?;
        providers.push(Provider { origin: plug.clone(), bytes });
    }
    Ok(providers)
}

/// The directories of `BPFLET_PLUGIN_PATH`, in order; empty entries are
/// skipped.
fn plugin_path() -> Vec<PathBuf> {
    std::env::var_os("BPFLET_PLUGIN_PATH")
        .map(|path| std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default()
}

/// Every `*.wasm` component in `dir`, by name. A directory that does not
/// exist holds nothing; one that cannot be read is an error.
fn directory(dir: &Path) -> anyhow::Result<Vec<Provider>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("BPFLET_PLUGIN_PATH: cannot read {}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "wasm") && path.is_file())
        .collect();
    paths.sort();
    let mut providers = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read plug-in {}", path.display()))?;
        crate::program::check_header(&bytes).with_context(|| format!("plug-in {}", path.display()))?;
        providers.push(Provider { origin: path.display().to_string(), bytes });
    }
    Ok(providers)
}

/// `bpflet plugins`: each built-in provider with what it exports and
/// imports; with `write`, also DIR/NAME.wasm.
pub fn built_in(write: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = write {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for (name, bytes) in builtin::PROVIDERS {
        let (imports, exports) = assemble::interfaces(bytes)?;
        print(&format!(
            "{name}: exports {}; imports {} ({} bytes)\n",
            exports.join(", "),
            imports.join(", "),
            bytes.len()
        ))?;
        if let Some(dir) = write {
            let path = dir.join(format!("{name}.wasm"));
            std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

/// `bpflet inspect`: the program's exports, and each import with who would
/// serve it.
pub fn inspect(file: &Path, program: &Program, places: &[Place], json: bool) -> anyhow::Result<()> {
    let (_, exports) = assemble::interfaces(&program.component)?;
    let servers = assemble::servers(&program.component, places)?;
    let what = if program.kernel_only {
        "a BPF object, run by the built-in kernel-only runner (shown below)"
    } else {
        "a component"
    };
    if json {
        let imports: Vec<serde_json::Value> = servers
            .iter()
            .map(|(name, server)| match server {
                Server::Host => serde_json::json!({"name": name, "served_by": "host"}),
                Server::Plugin { origin, place } => {
                    serde_json::json!({"name": name, "served_by": "plug-in", "provider": origin, "place": place})
                }
                Server::Unserved(why) => serde_json::json!({"name": name, "served_by": null, "error": why}),
            })
            .collect();
        let out = serde_json::json!({
            "file": file.display().to_string(),
            "kernel_only": program.kernel_only,
            "exports": exports,
            "imports": imports,
        });
        return print(&format!("{out}\n"));
    }
    let mut text = format!("{}: {what}\nexports:\n", file.display());
    for name in &exports {
        text += &format!("  {name}\n");
    }
    text += "imports:\n";
    let width = servers.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, server) in &servers {
        let by = match server {
            Server::Host => "host".to_string(),
            Server::Plugin { origin, place } => format!("plug-in {origin} ({place})"),
            Server::Unserved(why) => format!("NOT SERVED: {why}"),
        };
        text += &format!("  {name:<width$}  {by}\n");
    }
    print(&text)
}

/// Writes `text` to stdout; a reader that went away (`| head`) is fine.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
