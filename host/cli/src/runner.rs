//! The kernel-only runner: a component (adapters/runner, built into this
//! binary) that runs a bare BPF object: flags from its `const volatile`
//! globals, records printed by their BTF type, histograms and maps at exit.

/// The runner component's bytes.
pub const RUNNER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bpflet_runner.wasm"));
