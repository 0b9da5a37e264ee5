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
use bpflet_runtime::{AttachRule, Grant, Named};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use oci_wasm::{ToConfig, WasmConfig, WASM_LAYER_MEDIA_TYPE};

/// The layer media type of a BPF object (an ELF file, clang -target bpf).
pub const BPF_OBJECT_MEDIA_TYPE: &str = "application/vnd.bpflet.bpf-object.v1";
/// The config of a kernel-only artifact: the OCI empty descriptor's type.
const EMPTY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const TITLE: &str = "org.opencontainers.image.title";

/// The manifest annotations that declare what a program needs: attach
/// rules (`--allow-attach` syntax) and grants (`--allow`), each
/// comma-separated.
const DECLARES_ATTACH: &str = "dev.bpflet.allow-attach";
const DECLARES_GRANTS: &str = "dev.bpflet.allow";

/// What a program declares it needs (`bpflet push --declare-attach`,
/// `--declare`): `bpflet run oci://` grants it only with `--allow-declared`.
#[derive(Debug, Default, Clone)]
pub struct Declared {
    pub attach: Vec<AttachRule>,
    pub grants: Vec<Grant>,
}

impl Declared {
    pub fn is_empty(&self) -> bool {
        self.attach.is_empty() && self.grants.is_empty()
    }

    /// As `bpflet run` options.
    pub fn as_options(&self) -> String {
        let mut options = Vec::new();
        if !self.attach.is_empty() {
            let rules: Vec<String> = self.attach.iter().map(ToString::to_string).collect();
            options.push(format!("--allow-attach {}", rules.join(",")));
        }
        if !self.grants.is_empty() {
            let grants: Vec<&str> = self.grants.iter().map(|g| g.name()).collect();
            options.push(format!("--allow {}", grants.join(",")));
        }
        options.join(" ")
    }

    fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        if !self.attach.is_empty() {
            let rules: Vec<String> = self.attach.iter().map(ToString::to_string).collect();
            annotations.insert(DECLARES_ATTACH.to_string(), rules.join(","));
        }
        if !self.grants.is_empty() {
            let grants: Vec<&str> = self.grants.iter().map(|g| g.name()).collect();
            annotations.insert(DECLARES_GRANTS.to_string(), grants.join(","));
        }
        annotations
    }

    /// From a manifest's annotations; a value bpflet does not know is an
    /// error (a newer bpflet's declaration is not silently dropped).
    fn from_annotations(annotations: Option<&BTreeMap<String, String>>, reference: &Reference) -> Result<Self> {
        let mut declared = Declared::default();
        let Some(annotations) = annotations else { return Ok(declared) };
        let list = |key: &str| annotations.get(key).into_iter().flat_map(|v| v.split(',')).filter(|v| !v.is_empty());
        for rule in list(DECLARES_ATTACH) {
            let rule =
                rule.parse().map_err(|e| anyhow::anyhow!("{reference} declares {DECLARES_ATTACH} {rule:?}: {e}"))?;
            declared.attach.push(rule);
        }
        for grant in list(DECLARES_GRANTS) {
            let grant =
                grant.parse().map_err(|e| anyhow::anyhow!("{reference} declares {DECLARES_GRANTS} {grant:?}: {e}"))?;
            declared.grants.push(grant);
        }
        Ok(declared)
    }
}

/// What `run` takes from a reference, and `pull` writes out.
#[derive(Debug)]
pub struct Artifact {
    /// The component, unless the artifact is a kernel-only program.
    pub component: Option<Vec<u8>>,
    /// BPF objects by file name, in layer order.
    pub objects: Vec<(String, Vec<u8>)>,
    /// The manifest digest the registry served.
    pub digest: String,
    /// What the program declares it needs.
    pub declared: Declared,
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

/// The credentials for `reference`'s registry, and only for it: from
/// `BPFLET_REGISTRY_USER` and `BPFLET_REGISTRY_PASSWORD` when
/// `BPFLET_REGISTRY` names this registry, else from the docker
/// configuration (`$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`: its `auths` and credential helpers), else
/// none. Credentials for one registry are never sent to another.
fn auth(reference: &Reference) -> RegistryAuth {
    let registry = reference.resolve_registry();
    let variables = (std::env::var("BPFLET_REGISTRY_USER"), std::env::var("BPFLET_REGISTRY_PASSWORD"));
    if let (Ok(user), Ok(password)) = variables {
        match std::env::var("BPFLET_REGISTRY") {
            Ok(scope) if scope == registry => return RegistryAuth::Basic(user, password),
            Ok(_) => {}
            Err(_) => eprintln!(
                "bpflet: BPFLET_REGISTRY_USER is set but BPFLET_REGISTRY does not say for which registry: \
                 sending it to none"
            ),
        }
    }
    // The docker config names Docker Hub by its old index URL.
    let key =
        if registry == "index.docker.io" || registry == "docker.io" { "https://index.docker.io/v1/" } else { registry };
    match docker_credential::get_credential(key) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            RegistryAuth::Basic(user, password)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => RegistryAuth::Bearer(token),
        Err(_) => RegistryAuth::Anonymous,
    }
}

/// The most bytes one layer may have, and all of them together: a
/// component or a BPF object is a few megabytes; a registry that says (or
/// sends) more is refused.
const MAX_LAYER: u64 = 256 << 20;
const MAX_ARTIFACT: u64 = 512 << 20;
/// The most layers an artifact may have.
const MAX_LAYERS: usize = 64;

/// Collects a layer in memory, refusing to take more than the `declared`
/// size the manifest gave it (oci-client then checks its digest).
struct Capped {
    data: Vec<u8>,
    declared: usize,
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.data.len() + bytes.len() > self.declared {
            return std::task::Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than the {} bytes its manifest declares for the layer",
                self.declared
            ))));
        }
        self.data.extend_from_slice(bytes);
        std::task::Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
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
pub fn push(
    file: &Path,
    bytes: Vec<u8>,
    objects: &[PathBuf],
    reference: &str,
    declared: &Declared,
    plain_http: bool,
) -> Result<String> {
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
    let manifest =
        (!declared.is_empty()).then(|| OciImageManifest::build(&layers, &config, Some(declared.annotations())));
    let pushed = runtime()?
        .block_on(client.push(&reference, &layers, config, &auth(&reference), manifest))
        .map_err(|e| anyhow::Error::from(e).context(format!("pushing to {reference}")))?;
    Ok(pushed.manifest_url)
}

/// Pulls the artifact at `reference`: its manifest (checked against the
/// reference's digest, `@sha256:...`, when it has one), then each layer
/// of a type bpflet runs, at most [`MAX_LAYER`] bytes and no more than the
/// manifest declares, each checked against its digest.
pub fn pull(reference: &str, plain_http: bool) -> Result<Artifact> {
    let reference = parse(reference)?;
    let client = client(&reference, plain_http);
    let auth = auth(&reference);
    let runtime = runtime()?;
    let (manifest, digest) = runtime
        .block_on(client.pull_image_manifest(&reference, &auth))
        .map_err(|e| anyhow::Error::from(e).context(format!("pulling {reference}")))?;
    let declared = Declared::from_annotations(manifest.annotations.as_ref(), &reference)?;
    let mut artifact = Artifact { component: None, objects: Vec::new(), digest, declared };
    if manifest.layers.len() > MAX_LAYERS {
        bail!("{reference} has {} layers, more than the {MAX_LAYERS} a program may have", manifest.layers.len());
    }
    let total: u64 =
        manifest.layers.iter().map(|l| u64::try_from(l.size).unwrap_or(u64::MAX)).fold(0, u64::saturating_add);
    if total > MAX_ARTIFACT {
        bail!(
            "{reference} is {total} bytes in all, more than the {} a program may have",
            bpflet_runtime::size::show(MAX_ARTIFACT)
        );
    }
    for (index, layer) in manifest.layers.iter().enumerate() {
        let media_type = layer.media_type.as_str();
        if media_type != WASM_LAYER_MEDIA_TYPE && media_type != BPF_OBJECT_MEDIA_TYPE {
            bail!("{reference} has a layer of type {media_type:?}; bpflet runs application/wasm and BPF objects");
        }
        let declared = u64::try_from(layer.size).unwrap_or(u64::MAX);
        if declared > MAX_LAYER {
            bail!(
                "{reference}: layer {index} is {declared} bytes, more than the {} a program may have",
                bpflet_runtime::size::show(MAX_LAYER)
            );
        }
        // Grown as bytes arrive, not reserved on the registry's word.
        let mut out = Capped { data: Vec::new(), declared: declared as usize };
        runtime
            .block_on(client.pull_blob(&reference, layer, &mut out))
            .map_err(|e| anyhow::Error::from(e).context(format!("pulling layer {index} of {reference}")))?;
        if out.data.len() != out.declared {
            bail!("{reference}: layer {index} is {} bytes, not the {declared} its manifest declares", out.data.len());
        }
        if media_type == WASM_LAYER_MEDIA_TYPE {
            if artifact.component.is_some() {
                bail!("{reference} has more than one application/wasm layer; bpflet runs one component");
            }
            artifact.component = Some(out.data);
        } else {
            let title = layer.annotations.as_ref().and_then(|a| a.get(TITLE)).cloned();
            let name = title.filter(|t| plain_file_name(t)).unwrap_or_else(|| format!("object-{index}.bpf.o"));
            if artifact.objects.iter().any(|(other, _)| *other == name) {
                bail!("{reference} has two BPF objects named {name:?}");
            }
            artifact.objects.push((name, out.data));
        }
    }
    if artifact.component.is_none() && artifact.objects.is_empty() {
        bail!("{reference} holds neither a component nor a BPF object");
    }
    Ok(artifact)
}

/// Whether a registry's title is a plain file name, which `pull` may
/// write: no path (`/`), not hidden or `..`, printable, at most 255 bytes.
/// Anything else is written under a name of bpflet's choosing.
fn plain_file_name(title: &str) -> bool {
    !title.is_empty()
        && title.len() <= 255
        && !title.starts_with('.')
        && title.chars().all(|c| c.is_ascii_alphanumeric() || "._-+@".contains(c))
}

/// The file name a pulled component is written as: the repository's last
/// segment, `.wasm`.
pub fn component_file_name(reference: &str) -> String {
    let repository = parse(reference).map(|r| r.repository().to_string()).unwrap_or_default();
    let last = repository.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("program");
    format!("{last}.wasm")
}
