// execsnoop prints every exec on the system as it happens.
//
// The kernel half (guests/bpf/execsnoop.bpf.c) writes one event per exec
// into a ring buffer; this half prints them, as a table or as JSON lines,
// byte for byte as the Rust twin (guests/rust/execsnoop) does.
package main

import (
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"time"

	"bpflet.dev/guests/go/bpflet"
	"bpflet.dev/guests/go/internal/cli"
)

// The kernel half, which build.sh copies here from target/bpf.
//
//go:embed execsnoop.bpf.o
var object []byte

const usage = `usage: execsnoop [--json] [--ppid PID] [--duration SECS]

Prints every exec on the system.

  --json            one JSON object per exec, after a {"attached":true} line
  --ppid PID        only execs by children of PID
  --duration SECS   exit after SECS seconds (default: run until killed)
  --help            print this help
`

// event is struct event of guests/bpf/execsnoop.h.
type event struct {
	Pid      uint32
	Ppid     uint32
	Comm     [16]byte
	Filename [256]byte
}

// jsonEvent is one --json line; the field order is the key order.
type jsonEvent struct {
	Pid      uint32 `json:"pid"`
	Ppid     uint32 `json:"ppid"`
	Comm     string `json:"comm"`
	Filename string `json:"filename"`
}

func init() { bpflet.Main(main) }

func main() { cli.Main("execsnoop", usage, cli.TraceParser("--ppid"), run) }

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
	ring, err := openEvents(obj)
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

	// Tests wait for this first line as the sign that tracing has begun.
	out := bufio.NewWriter(os.Stdout)
	if args.JSON {
		fmt.Fprintln(out, `{"attached":true}`)
	} else {
		fmt.Fprintf(out, "%-8s %-8s %-16s FILENAME\n", "PID", "PPID", "COMM")
	}
	if err := out.Flush(); err != nil {
		return err
	}

	for args.Forever || bpflet.Now().Before(deadline) {
		batch, err := ring.Poll(200*time.Millisecond, 0)
		if err != nil {
			return err
		}
		events, err := bpflet.RecordsOf[event](batch)
		if err != nil {
			return err
		}
		for e := range events {
			comm, filename := cli.CString(e.Comm[:]), cli.CString(e.Filename[:])
			if args.JSON {
				line, err := cli.MarshalJSONLine(jsonEvent{e.Pid, e.Ppid, comm, filename})
				if err != nil {
					return err
				}
				out.Write(line)
			} else {
				fmt.Fprintf(out, "%-8d %-8d %-16s %s\n", e.Pid, e.Ppid, comm, filename)
			}
		}
		if batch.Len() > 0 {
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// openEvents opens the ring buffer "events"; the map handle is only needed
// for the opening.
func openEvents(obj *bpflet.Object) (*bpflet.EventBuffer, error) {
	events, err := obj.Map("events")
	if err != nil {
		return nil, err
	}
	defer events.Close()
	return bpflet.OpenEventBuffer(events)
}
