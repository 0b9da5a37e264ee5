//! Programs as OCI artifacts in any OCI registry: `bpflet push`,
//! `bpflet pull` and `bpflet run oci://REGISTRY/REPOSITORY:TAG`.
//!
//! A component is pushed the way the CNCF Wasm OCI artifact layout says
//! (oci-wasm: config `application/vnd.wasm.config.v0+json`, one
//! `application/wasm` layer), so other Wasm tooling can pull it too. BPF
//! objects that come with it (`--object`, for `open-packaged`) are extra
//! layers of type [`BPF_OBJECT_MEDIA_TYPE`], named by their
//! `org.opencontainers.image.title` annotation. A kernel-only program (a
//! bare `.bpf.o`) is an artifact with that layer alone and an empty config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use oci_wasm::{ToConfig, WasmConfig, WASM_LAYER_MEDIA_TYPE};

/// The layer media type of a BPF object (an ELF file, clang -target bpf).
pub const BPF_OBJECT_MEDIA_TYPE: &str = "application/vnd.bpflet.bpf-object.v1";
/// The config of a kernel-only artifact: the OCI empty descriptor's type.
const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const TITLE: &str = "org.opencontainers.image.title";

/// What `run` takes from a reference, and `pull` writes out.
#[derive(Debug)]
pub struct Artifact {
    /// The component, unless the artifact is a kernel-only program.
    pub component: Option<Vec<u8>>,
    /// BPF objects by file name, in layer order.
    pub objects: Vec<(String, Vec<u8>)>,
    /// The manifest digest the registry served.
    pub digest: String,
}

/// `oci://` is optional where only a reference can be meant (push, pull).
pub fn strip_scheme(reference: &str) -> &str {
    reference.strip_prefix("oci://").unwrap_or(reference)
}

fn parse(reference: &str) -> Result<Reference> {
    strip_scheme(reference).parse().with_context(|| {
        format!("{reference:?} is not an OCI reference (REGISTRY/REPOSITORY[:TAG|@DIGEST], e.g. localhost:5000/tools/execsnoop:1.0)")
    })
}

/// A client for the registry of `reference`: HTTPS, except plain HTTP for
/// a registry on this machine (as docker does) or with `plain_http`.
fn client(reference: &Reference, plain_http: bool) -> Client {
    let registry = reference.resolve_registry().to_string();
    let host = registry.rsplit_once(':').map_or(registry.as_str(), |(host, _)| host);
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let protocol = if plain_http {
        ClientProtocol::Http
    } else if local {
        ClientProtocol::HttpsExcept(vec![registry.clone()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig { protocol, ..Default::default() })
}

/// Anonymous, or HTTP basic from BPFLET_REGISTRY_USER and
/// BPFLET_REGISTRY_PASSWORD.
fn auth() -> RegistryAuth {
    match (std::env::var("BPFLET_REGISTRY_USER"), std::env::var("BPFLET_REGISTRY_PASSWORD")) {
        (Ok(user), Ok(password)) => RegistryAuth::Basic(user, password),
        _ => RegistryAuth::Anonymous,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the network runtime")
}

fn object_layer(name: &str, bytes: Vec<u8>) -> ImageLayer {
    let annotations = BTreeMap::from([(TITLE.to_string(), name.to_string())]);
    ImageLayer::new(bytes, BPF_OBJECT_MEDIA_TYPE.to_string(), Some(annotations))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "program".into())
}

/// Pushes `bytes`, the program `file` names (a component, or a bare BPF
/// object), with `objects` to `reference`; returns the manifest's URL.
pub fn push(file: &Path, bytes: Vec<u8>, objects: &[PathBuf], reference: &str, plain_http: bool) -> Result<String> {
    let reference = parse(reference)?;
    let mut layers = Vec::new();
    let config = if bytes.starts_with(b"\x7fELF") {
        layers.push(object_layer(&file_name(file), bytes));
        Config { data: b"{}".to_vec().into(), media_type: EMPTY_CONFIG_MEDIA_TYPE.into(), annotations: None }
    } else {
        crate::program::check_header(&bytes).with_context(|| format!("cannot push {}", file.display()))?;
        let (config, layer) = WasmConfig::from_raw_component(bytes, None)
            .with_context(|| format!("{} is not a component oci-wasm can describe", file.display()))?;
        layers.push(layer);
        config.to_config()?
    };
    for path in objects {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read BPF object {}", path.display()))?;
        if !bytes.starts_with(b"\x7fELF") {
            bail!("{} is not a BPF object (no ELF header)", path.display());
        }
        layers.push(object_layer(&file_name(path), bytes));
    }
    let client = client(&reference, plain_http);
    let pushed = runtime()?
        .block_on(client.push(&reference, &layers, config, &auth(), None))
        .map_err(|e| anyhow::Error::from(e).context(format!("pushing to {reference}")))?;
    Ok(pushed.manifest_url)
}

/// Pulls the artifact at `reference`.
pub fn pull(reference: &str, plain_http: bool) -> Result<Artifact> {
    let reference = parse(reference)?;
    let client = client(&reference, plain_http);
    let image = runtime()?
        .block_on(client.pull(&reference, &auth(), vec![WASM_LAYER_MEDIA_TYPE, BPF_OBJECT_MEDIA_TYPE]))
        .map_err(|e| anyhow::Error::from(e).context(format!("pulling {reference}")))?;
    let mut artifact = Artifact { component: None, objects: Vec::new(), digest: image.digest.unwrap_or_default() };
    for (index, layer) in image.layers.into_iter().enumerate() {
        if layer.media_type == WASM_LAYER_MEDIA_TYPE {
            if artifact.component.is_some() {
                bail!("{reference} has more than one application/wasm layer; bpflet runs one component");
            }
            artifact.component = Some(layer.data.to_vec());
        } else {
            let title = layer.annotations.as_ref().and_then(|a| a.get(TITLE)).cloned();
            // A title is a file name, not a path: nothing is written outside
            // the directory `pull` is given.
            let name = title
                .filter(|t| !t.is_empty() && !t.contains('/') && t != "." && t != "..")
                .unwrap_or_else(|| format!("object-{index}.bpf.o"));
            artifact.objects.push((name, layer.data.to_vec()));
        }
    }
    if artifact.component.is_none() && artifact.objects.is_empty() {
        bail!("{reference} holds neither a component nor a BPF object");
    }
    Ok(artifact)
}

/// The file name a pulled component is written as: the repository's last
/// segment, `.wasm`.
pub fn component_file_name(reference: &str) -> String {
    let repository = parse(reference).map(|r| r.repository().to_string()).unwrap_or_default();
    let last = repository.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("program");
    format!("{last}.wasm")
}
