// Package export_wasi_cli_run implements the component's wasi:cli/run
// export. wit-bindgen go leaves this package to the developer: the generated
// bindings/exports/wit_exports calls Run when the host runs the component.
//
// A Go component is built with -buildmode=c-shared, so the runtime runs the
// init functions but never main.main: the program registers its entry point
// with bpflet.Main, which stores it here.
package export_wasi_cli_run

import (
	"os"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Main is the program's entry point; nil until bpflet.Main sets it.
var Main func()

// Run is wasi:cli/run#run. A program that returns from Main succeeds; one
// that fails calls os.Exit with a non-zero code, which ends the component
// through wasi:cli/exit.
func Run() witTypes.Result[witTypes.Unit, witTypes.Unit] {
	if Main == nil {
		os.Stderr.WriteString("bpflet: the program registered no entry point; call bpflet.Main(main) in an init function\n")
		return witTypes.Err[witTypes.Unit, witTypes.Unit](witTypes.Unit{})
	}
	Main()
	return witTypes.Ok[witTypes.Unit, witTypes.Unit](witTypes.Unit{})
}
