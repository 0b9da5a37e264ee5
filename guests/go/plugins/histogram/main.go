// histogram is a provider of bpflet:ebpf/histogram written in Go: the same
// text and JSON as bpflet's built-in (Rust) provider and the C one
// (guests/c/plugins/histogram.c), byte for byte. Plug it in with
//
//	bpflet run --plug go-histogram-provider.wasm prog.bpf.o
//
// The functions it exports are in
// bindings/exports/export_bpflet_ebpf_histogram (wit-bindgen go leaves that
// package to us); this package only links them in. The Go runtime imports
// WASI to start up: bpflet gives a plug-in the harmless part of it (clocks,
// randomness, stdio) and a sandbox in place of files and environment (no
// directories, no arguments, no variables), so it needs no --plug-allow.
package main

import (
	_ "bpflet.dev/guests/go/plugins/histogram/bindings/exports/wit_exports" // the exports themselves
)

// main never runs: a c-shared build (a reactor) only runs init functions,
// then the host calls the exports.
func main() {}
