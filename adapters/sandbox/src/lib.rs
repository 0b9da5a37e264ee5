//! bpflet's plug-in sandbox (world `bpflet:ebpf/plugin-sandbox`): serves
//! a plug-in's `wasi:filesystem/preopens` and `wasi:cli/environment` with
//! nothing at all. Without a preopened directory no file can be opened
//! (`wasi:filesystem/types` hands out descriptors only through one), and
//! the plug-in sees no arguments, environment variables or working
//! directory: not the program's, not the host's.
//!
//! Built for wasm32-unknown-unknown; it imports only the types of
//! `wasi:filesystem/types` (for the descriptor type of its export).

use bindings::exports::wasi::cli::environment::Guest as Environment;
use bindings::exports::wasi::filesystem::preopens::{Descriptor, Guest as Preopens};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "bpflet:ebpf/plugin-sandbox",
        generate_all,
    });
}

struct Sandbox;

impl Preopens for Sandbox {
    fn get_directories() -> Vec<(Descriptor, String)> {
        Vec::new()
    }
}

impl Environment for Sandbox {
    fn get_environment() -> Vec<(String, String)> {
        Vec::new()
    }

    fn get_arguments() -> Vec<String> {
        Vec::new()
    }

    fn initial_cwd() -> Option<String> {
        None
    }
}

bindings::export!(Sandbox with_types_in bindings);
