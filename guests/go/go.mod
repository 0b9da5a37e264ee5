module bpflet.dev/guests/go

go 1.27.1

toolchain go1.27.3

// The runtime of wit-bindgen go 0.63's bindings. The module proxy does not
// serve it: build.sh takes it from the wit-bindgen-go crate and writes the
// go.work that replaces it (so there is no go.sum: nothing is downloaded).
require go.bytecodealliance.org/pkg v0.4.0
