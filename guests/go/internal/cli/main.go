package cli

import (
	"errors"
	"fmt"
	"os"
)

// ErrHelp is what an argument parser returns when the help text was asked for.
var ErrHelp = errors.New("help")

// Main is the main of a command-line guest called name: parse the
// arguments, print usage on ErrHelp (exit 0) or on a bad argument (exit 2),
// run, and report a failure as "name: error" (exit 1).
func Main[A any](name, usage string, parse func([]string) (A, error), run func(A) error) {
	args, err := parse(os.Args[1:])
	if errors.Is(err, ErrHelp) {
		fmt.Print(usage)
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n%s", name, err, usage)
		os.Exit(2)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
