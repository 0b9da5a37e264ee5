// exectrace prints every exec, as `bpflet run exectrace.bpf.o` prints it,
// without a line of formatting code: the records go to the render plug-in
// (bpflet:ebpf/render), which decodes them by their BTF type. bpflet
// assembles this program with a render provider when it runs.
//
// The kernel half is guests/bpf/exectrace.bpf.c, the kernel-only example;
// guests/c/exectrace is the same program in C.
package main

import (
	_ "embed"
	"fmt"
	"os"
	"time"

	"bpflet.dev/guests/go/bpflet"
	"bpflet.dev/guests/go/internal/cli"
)

// The kernel half, which build.sh copies here from target/bpf.
//
//go:embed exectrace.bpf.o
var object []byte

const usage = `usage: exectrace [--json] [--ppid PID] [--duration SECS]

Prints every exec on the system, decoded by the render plug-in.

  --json            one JSON object per exec
  --ppid PID        only execs by children of PID
  --duration SECS   exit after SECS seconds (default: run until killed)
  --help            print this help
`

func init() { bpflet.Main(main) }

func main() { cli.Main("exectrace", usage, cli.TraceParser("--ppid"), run) }

func run(args cli.TraceArgs) error {
	open, err := bpflet.Open(object)
	if err != nil {
		return err
	}
	defer open.Close()
	if err := open.SetGlobal("target_ppid", args.ID); err != nil {
		return err
	}
	obj, err := open.Load()
	if err != nil {
		return err
	}
	defer obj.Close()
	// The plug-in reads the object's types once; records print by type.
	printer := obj.Printer()
	defer printer.Close()
	records, err := printer.Records("exec_event", args.JSON)
	if err != nil {
		return err
	}
	defer records.Close()
	events, err := obj.Map("events")
	if err != nil {
		return err
	}
	ring, err := bpflet.OpenEventBuffer(events)
	events.Close()
	if err != nil {
		return err
	}
	defer ring.Close()
	links, err := obj.AttachAll()
	if err != nil {
		return err
	}
	defer links.Close()
	deadline := bpflet.Now().Add(args.Duration)

	fmt.Fprintln(os.Stderr, "exectrace: attached; Ctrl-C to stop")
	if _, err := os.Stdout.WriteString(records.Header()); err != nil {
		return err
	}
	for args.Forever || bpflet.Now().Before(deadline) {
		batch, err := ring.Poll(200*time.Millisecond, 0)
		if err != nil {
			return err
		}
		if batch.Len() > 0 {
			if _, err := os.Stdout.WriteString(records.Rows(batch, uint64(time.Now().Unix()))); err != nil {
				return err
			}
		}
	}
	return nil
}
