//! Runtime assembly: a program that imports interfaces the host does not
//! serve (the plug-in interfaces, such as `bpflet:ebpf/render`) is
//! composed with components that export them, in-process, the way `wac
//! plug` does it ahead of time: the result is one component whose only
//! imports are the host's.
//!
//! Providers come from places searched in order (for the CLI: `--plug`,
//! each directory of `BPFLET_PLUGIN_PATH`, the built-in providers). The
//! first place with a provider of an import serves it; two in one place
//! conflict. A provider's own imports get the same treatment, except that
//! from the host it gets no capability its world does not give it: the
//! type-only interfaces (`types`, `btf`) and the WASI interfaces that
//! reach nothing of the host's ([`HARMLESS_WASI`]: streams, clocks,
//! randomness, stdio, exit); the files and environment a language runtime
//! asks for at start-up from the sandbox component, which holds none
//! ([`SANDBOXED`]); anything else only if the embedder allows it.
//!
//! Every failure is an [`AssemblyError`] naming the interface and every
//! place looked in; nothing has touched the kernel by then.

use std::fmt;

use wac_graph::types::{are_semver_compatible, Package};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

use crate::interface;

/// The `bpflet:ebpf` interfaces the host serves.
const HOST_INTERFACES: [&str; 6] = ["types", "btf", "maps", "events", "ebpf-loader", "signals"];

/// Host interfaces that hold only types: any plug-in may import them.
const TYPE_ONLY: [&str; 2] = ["types", "btf"];

/// WASI interfaces (any 0.2 version) that reach nothing of the host's but
/// stdio (shared with the program: a plug-in can read what the program's
/// stdin would), the clocks and randomness: any plug-in may import them
/// from the host. `wasi:filesystem/types` is here because without a
/// preopened directory ([`SANDBOXED`]) it opens nothing.
pub const HARMLESS_WASI: [&str; 18] = [
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
];

/// WASI interfaces a plug-in gets from the sandbox component (world
/// `bpflet:ebpf/plugin-sandbox`) unless the embedder allows the host's:
/// no preopened directories, no arguments, no environment.
pub const SANDBOXED: [&str; 2] = ["wasi:filesystem/preopens", "wasi:cli/environment"];

/// `wasi:cli/stdout@0.2.6` → `wasi:cli/stdout`.
fn unversioned(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// A component that may serve imports.
pub struct Provider {
    /// Where it came from, for messages (`./hist.wasm`, `built-in render`).
    pub origin: String,
    pub bytes: Vec<u8>,
}

/// One place to look for providers.
pub struct Place {
    /// How messages name it (`--plug`, `/usr/lib/bpflet (BPFLET_PLUGIN_PATH)`).
    pub name: String,
    pub providers: Vec<Provider>,
    /// Whether every provider here must serve something (`--plug`: a
    /// plug-in that serves nothing is a mistake worth an error).
    pub must_serve: bool,
}

/// What [`assemble`] made.
pub struct Assembly {
    /// The composed component, or the program itself when it imports only
    /// what the host serves.
    pub component: Vec<u8>,
    /// (interface, origin of its provider) for every import plugged.
    pub plugged: Vec<(String, String)>,
}

/// Why a program could not be assembled.
#[derive(Debug)]
pub struct AssemblyError(String);

impl fmt::Display for AssemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AssemblyError {}

fn error(message: impl Into<String>) -> AssemblyError {
    AssemblyError(message.into())
}

/// Whether the host serves import `name` (WASI 0.2, which wasmtime-wasi
/// serves, or a `bpflet:ebpf` interface the host implements).
pub fn served_by_host(name: &str) -> bool {
    name.starts_with("wasi:") || HOST_INTERFACES.iter().any(|i| same_interface(name, &interface(i)))
}

/// Whether a plug-in may import `name` from the host without the
/// embedder's leave.
fn free_for_plugins(name: &str) -> bool {
    TYPE_ONLY.iter().any(|i| same_interface(name, &interface(i)))
        || (name.starts_with("wasi:") && name.contains("@0.2.") && HARMLESS_WASI.contains(&unversioned(name)))
}

/// Whether the sandbox serves a plug-in's import `name`.
fn sandboxed(name: &str) -> bool {
    name.starts_with("wasi:") && name.contains("@0.2.") && SANDBOXED.contains(&unversioned(name))
}

/// The same interface in the same or a semver-compatible version.
fn same_interface(a: &str, b: &str) -> bool {
    a == b || are_semver_compatible(a, b)
}

/// The (imports, exports) of a component, by name.
pub fn interfaces(component: &[u8]) -> Result<(Vec<String>, Vec<String>), AssemblyError> {
    let mut graph = CompositionGraph::new();
    let package = parse(&mut graph, "component", component.to_vec(), "the component")?;
    let world = &graph.types()[package.ty()];
    Ok((world.imports.keys().cloned().collect(), world.exports.keys().cloned().collect()))
}

/// Parses a component for the graph, once it is known to be valid: wac
/// reads components trusting their structure, and these come from anyone.
fn parse(graph: &mut CompositionGraph, name: &str, bytes: Vec<u8>, what: &str) -> Result<Package, AssemblyError> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&bytes)
        .map_err(|e| error(format!("{what} is malformed: {e}")))?;
    Package::from_bytes(name, None, bytes, graph.types_mut()).map_err(|e| error(format!("{what} is malformed: {e:#}")))
}

/// A provider as the choice of one sees it: where it stands, what it
/// exports.
struct Offer {
    place: usize,
    origin: String,
    exports: Vec<String>,
}

/// Composes `program` with providers of every import the host does not
/// serve, searched in `places` in order. `allowed` names host interfaces
/// (`wasi:sockets/tcp@0.2.12`) that plug-ins may import beyond the ones
/// any plug-in may. `sandbox` is the component that serves plug-ins'
/// [`SANDBOXED`] imports (bpflet's is world `plugin-sandbox`); without
/// it they need `allowed` like any other.
pub fn assemble(
    program: Vec<u8>,
    places: Vec<Place>,
    allowed: &[String],
    sandbox: Option<Vec<u8>>,
) -> Result<Assembly, AssemblyError> {
    let mut graph = CompositionGraph::new();
    let package = parse(&mut graph, "program", program, "the component")?;
    let program_imports: Vec<String> = graph.types()[package.ty()].imports.keys().cloned().collect();
    let program_exports: Vec<String> = graph.types()[package.ty()].exports.keys().cloned().collect();
    // Nothing to plug, and no --plug that must serve something: as it is.
    let plugs_given = places.iter().any(|p| p.must_serve && !p.providers.is_empty());
    if !plugs_given && program_imports.iter().all(|name| served_by_host(name)) {
        return Ok(Assembly { component: package.bytes().to_vec(), plugged: Vec::new() });
    }
    let place_names: Vec<String> = places.iter().map(|p| p.name.clone()).collect();
    let must_serve: Vec<bool> = places.iter().map(|p| p.must_serve).collect();
    let program_package =
        graph.register_package(package).map_err(|e| error(format!("the program cannot be composed: {e:#}")))?;

    // Provider i: offers[i] (what the choice sees), its package and
    // imports, and its instance once something uses it.
    let mut offers = Vec::new();
    let mut packages: Vec<(PackageId, Vec<String>)> = Vec::new();
    for (place, found) in places.into_iter().enumerate() {
        for Provider { origin, bytes } in found.providers {
            let package = parse(&mut graph, &format!("provider{}", offers.len()), bytes, &origin)?;
            let world = &graph.types()[package.ty()];
            let exports = world.exports.keys().cloned().collect();
            let imports = world.imports.keys().cloned().collect();
            let package =
                graph.register_package(package).map_err(|e| error(format!("{origin} cannot be composed: {e:#}")))?;
            offers.push(Offer { place, origin, exports });
            packages.push((package, imports));
        }
    }
    let mut nodes: Vec<Option<NodeId>> = vec![None; offers.len()];
    // The sandbox: its bytes until a plug-in needs it, then its instance
    // (one serves every plug-in).
    let mut sandbox = Sandbox::Unused(sandbox);

    let program_node = graph.instantiate(program_package);
    let mut plugged = Vec::new();
    // (consumer, how messages name it, its import)
    let mut wanted: Vec<(NodeId, String, String)> = program_imports
        .iter()
        .filter(|name| !served_by_host(name))
        .map(|name| (program_node, "the program".to_string(), name.clone()))
        .collect();
    while let Some((consumer, consumer_name, import)) = wanted.pop() {
        let chosen = choose(&offers, &place_names, &import, &consumer_name)?;
        let provider = &offers[chosen];
        let node = match nodes[chosen] {
            Some(node) => node,
            None => {
                let (package, imports) = &packages[chosen];
                let node = graph.instantiate(*package);
                nodes[chosen] = Some(node);
                // Its imports: what any plug-in may have of the host's or
                // the embedder allows; the sandbox's; more plug-in
                // interfaces.
                for name in imports {
                    if served_by_host(name) {
                        if free_for_plugins(name) || allowed.iter().any(|a| a == name || same_interface(name, a)) {
                            continue;
                        }
                        if sandboxed(name) {
                            if let Some(origin) = sandbox.plug(&mut graph, node, name, &provider.origin)? {
                                plugged.push((name.clone(), format!("{origin} (for plug-in {})", provider.origin)));
                                continue;
                            }
                        }
                        return Err(error(format!(
                            "plug-in {} imports {name}, which plug-ins may not use; allow it with \
                             --plug-allow {name} if you trust it",
                            provider.origin
                        )));
                    } else {
                        wanted.push((node, format!("plug-in {}", provider.origin), name.clone()));
                    }
                }
                node
            }
        };
        if consumer == node {
            return Err(error(format!("plug-in {} imports {import}, which it exports itself", provider.origin)));
        }
        let export = provider
            .exports
            .iter()
            .find(|e| same_interface(e, &import))
            .cloned()
            .ok_or_else(|| error(format!("{} does not export {import}", provider.origin)))?;
        let origin = provider.origin.clone();
        let alias =
            graph.alias_instance_export(node, &export).map_err(|e| error(format!("{origin}: {export}: {e:#}")))?;
        graph.set_instantiation_argument(consumer, &import, alias).map_err(|e| {
            error(format!(
                "{origin} exports {export}, but not as {consumer_name} imports it ({e:#}): \
                 they were built from different versions of the interface"
            ))
        })?;
        plugged.push((import, origin));
    }

    let imported: Vec<&String> = plugged.iter().map(|(import, _)| import).collect();
    for (provider, node) in offers.iter().zip(&nodes) {
        if node.is_none() && must_serve[provider.place] {
            // The likely mistake: the right interface in a version that
            // does not fit.
            let near = provider.exports.iter().find_map(|export| {
                let base = export.split('@').next();
                imported.iter().find(|import| import.split('@').next() == base).map(|import| (export, import))
            });
            return Err(error(match near {
                Some((export, import)) => format!(
                    "{} ({}) exports {export}, which does not fit {import} that the program imports \
                     (the versions are not compatible)",
                    provider.origin, place_names[provider.place]
                ),
                None => format!(
                    "{} ({}) serves nothing the program needs: it exports {}",
                    provider.origin,
                    place_names[provider.place],
                    list(&provider.exports)
                ),
            }));
        }
    }
    for name in program_exports {
        let alias =
            graph.alias_instance_export(program_node, &name).map_err(|e| error(format!("exporting {name}: {e:#}")))?;
        graph.export(alias, &name).map_err(|e| error(format!("exporting {name}: {e:#}")))?;
    }
    let component = graph
        .encode(EncodeOptions { define_components: true, validate: false, processor: None })
        .map_err(|e| error(format!("composing the program with its plug-ins: {e:#}")))?;
    plugged.reverse();
    Ok(Assembly { component, plugged })
}

/// The sandbox component of one assembly.
enum Sandbox {
    /// Not instantiated yet (none given: `None`).
    Unused(Option<Vec<u8>>),
    Instance(NodeId),
}

impl Sandbox {
    /// How `bpflet -v` names what the sandbox serves.
    const ORIGIN: &'static str = "the plug-in sandbox (nothing)";

    /// The WASI version the sandbox exports.
    const VERSION: &'static str = "0.2.12";

    /// Plugs the sandbox's export of `import` into plug-in `node` (from
    /// `origin`); none when there is no sandbox.
    fn plug(
        &mut self,
        graph: &mut CompositionGraph,
        node: NodeId,
        import: &str,
        origin: &str,
    ) -> Result<Option<&'static str>, AssemblyError> {
        if let Sandbox::Unused(None) = self {
            return Ok(None);
        }
        // A preopen is a descriptor of the sandbox's wasi:filesystem/types,
        // which is not the plug-in's in another version (wac would not see
        // it: it compares resources by name).
        let export = SANDBOXED
            .iter()
            .map(|name| format!("{name}@{}", Self::VERSION))
            .find(|export| unversioned(export) == unversioned(import))
            .ok_or_else(|| error(format!("the plug-in sandbox does not serve {import}")))?;
        if unversioned(import) == "wasi:filesystem/preopens" && import != export {
            return Err(error(format!(
                "plug-in {origin} imports {import}, but the plug-in sandbox serves {export}: build the plug-in \
                 against WASI {}, or give it the host's with --plug-allow {import}",
                Self::VERSION
            )));
        }
        let instance = match self {
            Sandbox::Instance(instance) => *instance,
            Sandbox::Unused(None) => return Ok(None),
            Sandbox::Unused(Some(bytes)) => {
                let package = parse(graph, "sandbox", std::mem::take(bytes), "the plug-in sandbox")?;
                let package = graph
                    .register_package(package)
                    .map_err(|e| error(format!("the plug-in sandbox cannot be composed: {e:#}")))?;
                let instance = graph.instantiate(package);
                *self = Sandbox::Instance(instance);
                instance
            }
        };
        let alias = graph
            .alias_instance_export(instance, &export)
            .map_err(|e| error(format!("the plug-in sandbox: {export}: {e:#}")))?;
        graph.set_instantiation_argument(node, import, alias).map_err(|e| {
            error(format!("the plug-in sandbox exports {export}, but not as a plug-in imports {import}: {e:#}"))
        })?;
        Ok(Some(Self::ORIGIN))
    }
}

/// Who serves an import of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// The host: WASI or a `bpflet:ebpf` interface it implements.
    Host,
    /// A plug-in: its origin and the place it was found in.
    Plugin { origin: String, place: String },
    /// Nobody, or nobody alone: why, as `bpflet run` would say it.
    Unserved(String),
}

/// Who would serve each import of `program` if it were assembled from
/// `places` (`bpflet inspect`): the same choice [`assemble`] makes.
pub fn servers(program: &[u8], places: &[Place]) -> Result<Vec<(String, Server)>, AssemblyError> {
    let (imports, _) = interfaces(program)?;
    let mut offers = Vec::new();
    for (place, found) in places.iter().enumerate() {
        for provider in &found.providers {
            let (_, exports) = interfaces(&provider.bytes).map_err(|e| error(format!("{}: {e}", provider.origin)))?;
            offers.push(Offer { place, origin: provider.origin.clone(), exports });
        }
    }
    let names: Vec<String> = places.iter().map(|p| p.name.clone()).collect();
    Ok(imports
        .into_iter()
        .map(|import| {
            let server = if served_by_host(&import) {
                Server::Host
            } else {
                match choose(&offers, &names, &import, "the program") {
                    Ok(i) => Server::Plugin { origin: offers[i].origin.clone(), place: names[offers[i].place].clone() },
                    Err(why) => Server::Unserved(why.to_string()),
                }
            };
            (import, server)
        })
        .collect())
}

/// The provider of `import`: the only one in the first place that has one.
fn choose(providers: &[Offer], places: &[String], import: &str, consumer: &str) -> Result<usize, AssemblyError> {
    for (place, name) in places.iter().enumerate() {
        let here: Vec<usize> = (0..providers.len())
            .filter(|&i| providers[i].place == place && providers[i].exports.iter().any(|e| same_interface(e, import)))
            .collect();
        match here.as_slice() {
            [] => continue,
            [only] => return Ok(*only),
            many => {
                let names: Vec<&str> = many.iter().map(|&i| providers[i].origin.as_str()).collect();
                return Err(error(format!(
                    "{} components in {name} export {import}: {}; keep one",
                    many.len(),
                    names.join(", ")
                )));
            }
        }
    }
    // Nothing: say where it looked, and what came close (other versions).
    let base = import.split('@').next().unwrap_or(import);
    let mut looked = Vec::new();
    for (place, name) in places.iter().enumerate() {
        let close: Vec<String> = providers
            .iter()
            .filter(|p| p.place == place)
            .flat_map(|p| {
                p.exports
                    .iter()
                    .filter(|e| e.split('@').next() == Some(base))
                    .map(move |e| format!("{} exports {e}", p.origin))
            })
            .collect();
        let count = providers.iter().filter(|p| p.place == place).count();
        looked.push(match (close.is_empty(), count) {
            (true, 0) => format!("{name}: no components"),
            (true, _) => format!("{name}: {count} component(s), none exports it"),
            (false, _) => format!("{name}: {} (not compatible)", close.join(", ")),
        });
    }
    Err(error(format!("no component provides {import}, which {consumer} imports; looked in {}", looked.join("; "))))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_serves_wasi_and_its_own_interfaces_in_compatible_versions() {
        assert!(served_by_host("wasi:cli/stdout@0.2.6"));
        assert!(served_by_host("bpflet:ebpf/maps@0.2.0"));
        assert!(served_by_host("bpflet:ebpf/maps@0.2.3"));
        assert!(!served_by_host("bpflet:ebpf/maps@0.3.0"));
        assert!(!served_by_host("bpflet:ebpf/render@0.2.0"));
        assert!(free_for_plugins("bpflet:ebpf/btf@0.2.0"));
        assert!(!free_for_plugins("bpflet:ebpf/maps@0.2.0"));
        assert!(free_for_plugins("wasi:filesystem/types@0.2.6"));
        assert!(free_for_plugins("wasi:cli/stdout@0.2.12"));
        assert!(!free_for_plugins("wasi:cli/stdout@0.3.0"));
        assert!(!free_for_plugins("wasi:filesystem/preopens@0.2.12"));
        assert!(!free_for_plugins("wasi:sockets/tcp@0.2.12"));
        assert!(sandboxed("wasi:filesystem/preopens@0.2.0"));
        assert!(sandboxed("wasi:cli/environment@0.2.12"));
        assert!(!sandboxed("wasi:cli/stdout@0.2.12"));
    }
}
