//! The components built into bpflet (host/cli/build.rs builds them from
//! adapters/).

/// The kernel-only runner: runs a bare `.bpf.o`.
pub const RUNNER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bpflet_runner.wasm"));

/// The built-in providers of the plug-in interfaces, by what they serve.
pub const PROVIDERS: [(&str, &[u8]); 2] = [
    ("render", include_bytes!(concat!(env!("OUT_DIR"), "/bpflet_render.wasm"))),
    ("histogram", include_bytes!(concat!(env!("OUT_DIR"), "/bpflet_histogram.wasm"))),
];

/// Serves plug-ins' `wasi:filesystem/preopens` and `wasi:cli/environment`
/// with nothing (`world plugin-sandbox`).
pub const SANDBOX: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bpflet_sandbox.wasm"));
