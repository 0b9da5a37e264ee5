// sizehist: a log2 histogram of the sizes one process passes to write(2),
// printed at Ctrl-C (or after --duration) as `bpflet run sizehist.bpf.o`
// prints it, through the histogram plug-in (bpflet:ebpf/histogram): this
// program only reads the map. guests/c/sizehist is the same in C.
package main

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"bpflet.dev/guests/go/bpflet"
	"bpflet.dev/guests/go/internal/cli"
)

// The kernel half, which build.sh copies here from target/bpf.
//
//go:embed sizehist.bpf.o
var object []byte

const usage = `usage: sizehist [--json] [--pid PID] [--duration SECS]

A log2 histogram of the sizes of write(2), printed at Ctrl-C.

  --json            the histogram as one JSON line
  --pid PID         only writes by process PID
  --duration SECS   print and exit after SECS seconds
  --help            print this help
`

// slots is LOG2_SLOTS of guests/bpf/log2.h.
const slots = 32

func init() { bpflet.Main(main) }

func main() { cli.Main("sizehist", usage, cli.TraceParser("--pid"), run) }

func run(args cli.TraceArgs) error {
	open, err := bpflet.Open(object)
	if err != nil {
		return err
	}
	defer open.Close()
	if err := open.SetGlobal("target_pid", args.ID); err != nil {
		return err
	}
	obj, err := open.Load()
	if err != nil {
		return err
	}
	defer obj.Close()
	hist, err := obj.Map("hist")
	if err != nil {
		return err
	}
	defer hist.Close()
	links, err := obj.AttachAll()
	if err != nil {
		return err
	}
	defer links.Close()
	deadline := bpflet.Now().Add(args.Duration)
	// Ctrl-C asks; the loop sees it and prints the histogram.
	bpflet.StopRequested()
	fmt.Fprintln(os.Stderr, "sizehist: attached; Ctrl-C to stop")
	for !bpflet.StopRequested() && (args.Forever || bpflet.Now().Before(deadline)) {
		bpflet.Sleep(50 * time.Millisecond)
	}

	value, found, err := hist.Lookup(make([]byte, 4))
	if err != nil {
		return err
	}
	counts := make([]uint64, slots)
	if found && len(value) == 8*slots {
		for i := range counts {
			counts[i] = binary.LittleEndian.Uint64(value[8*i:])
		}
	}
	if args.JSON {
		line, err := bpflet.HistogramJSON("hist", counts, bpflet.HistScale{}, "bytes")
		if err != nil {
			return err
		}
		_, err = fmt.Println(line)
		return err
	}
	text, err := bpflet.HistogramText(counts, bpflet.HistScale{}, "bytes")
	if err != nil {
		return err
	}
	// As the runner heads a map with one histogram.
	if text == "" {
		text = "     (empty)\n"
	}
	_, err = os.Stdout.WriteString("hist:\n" + text)
	return err
}
