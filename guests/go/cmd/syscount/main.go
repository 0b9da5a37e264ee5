// syscount counts syscalls per process and prints the busiest ones.
//
// The kernel half (guests/bpf/syscount.bpf.c) counts into a per-CPU hash
// map keyed by pid; this half sums the CPUs and prints a top-N table every
// interval, plus a last one when --duration is over, byte for byte as the
// Rust twin (guests/rust/syscount) does.
package main

import (
	"bufio"
	"cmp"
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"bpflet.dev/guests/go/bpflet"
	"bpflet.dev/guests/go/internal/cli"
)

// The kernel half, which build.sh copies here from target/bpf.
//
//go:embed syscount.bpf.o
var object []byte

const usage = `usage: syscount [--pid PID] [--top N] [--interval SECS] [--duration SECS]

Counts syscalls per process and prints the top processes every interval.

  --pid PID         only count process PID
  --top N           processes per report (default 10)
  --interval SECS   seconds between reports (default 1)
  --duration SECS   print a last report and exit after SECS seconds
                    (default: run until killed)
  --help            print this help
`

// comm is a command name: SYSCOUNT_COMM_LEN of guests/bpf/syscount.h.
type comm [16]byte

type args struct {
	pid      uint32
	top      uint32
	interval time.Duration
	duration time.Duration
	forever  bool
}

func init() { bpflet.Main(main) }

func main() { cli.Main("syscount", usage, parseArgs, run) }

func parseArgs(list []string) (args, error) {
	parsed := args{top: 10, interval: time.Second, forever: true}
	// Seconds as Rust's Duration::try_from_secs_f64 takes them, not zero.
	seconds := func(flag, value string) (time.Duration, error) {
		d, zero, ok := cli.ParseSeconds(value)
		if !ok || zero {
			return 0, fmt.Errorf("bad %s %s", flag, cli.Quote(value))
		}
		return d, nil
	}
	for len(list) > 0 {
		arg := list[0]
		list = list[1:]
		switch arg {
		case "-h", "--help":
			return args{}, cli.ErrHelp
		case "--pid", "--top", "--interval", "--duration":
		default:
			return args{}, fmt.Errorf("unknown argument %s", cli.Quote(arg))
		}
		if len(list) == 0 {
			return args{}, fmt.Errorf("%s needs a value", arg)
		}
		value := list[0]
		list = list[1:]
		var ok bool
		var err error
		switch arg {
		case "--pid":
			if parsed.pid, ok = cli.ParseUint32(value); !ok {
				return args{}, fmt.Errorf("bad --pid %s", cli.Quote(value))
			}
		case "--top":
			// A usize of wasm32, as the Rust twin has it.
			if parsed.top, ok = cli.ParseUint32(value); !ok {
				return args{}, fmt.Errorf("bad --top %s", cli.Quote(value))
			}
		case "--interval":
			if parsed.interval, err = seconds(arg, value); err != nil {
				return args{}, err
			}
		default:
			if parsed.duration, err = seconds(arg, value); err != nil {
				return args{}, err
			}
			parsed.forever = false
		}
	}
	return parsed, nil
}

func run(args args) error {
	open, err := bpflet.Open(object)
	if err != nil {
		return err
	}
	defer open.Close()
	if err := open.SetGlobal("target_pid", args.pid); err != nil {
		return err
	}
	obj, err := open.Load()
	if err != nil {
		return err
	}
	defer obj.Close()
	countsMap, err := obj.Map("counts")
	if err != nil {
		return err
	}
	counts, err := bpflet.NewPerCPUHashMap[uint32, uint64](countsMap)
	if err != nil {
		return err
	}
	defer counts.Close()
	commsMap, err := obj.Map("comms")
	if err != nil {
		return err
	}
	comms, err := bpflet.NewHashMap[uint32, comm](commsMap)
	if err != nil {
		return err
	}
	defer comms.Close()
	links, err := obj.AttachAll()
	if err != nil {
		return err
	}
	defer links.Close()

	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "Tracing syscalls... Ctrl-C to end.")
	if err := out.Flush(); err != nil {
		return err
	}

	end := bpflet.Instant(math.MaxUint64)
	if !args.forever {
		end = bpflet.Now().Add(args.duration)
	}
	nextReport := bpflet.Now().Add(args.interval)
	for {
		bpflet.SleepUntil(min(end, nextReport))
		now := bpflet.Now()
		if !args.forever && now >= end {
			return report(out, counts, comms, args.top)
		}
		if now >= nextReport {
			if err := report(out, counts, comms, args.top); err != nil {
				return err
			}
			// After a stall (a suspended host), skip the missed reports.
			for nextReport <= now {
				nextReport = nextReport.Add(args.interval)
			}
		}
	}
}

// total is one process's syscalls since tracing began.
type total struct {
	pid   uint32
	count uint64
}

// report prints the top processes by syscalls since tracing began.
func report(out *bufio.Writer, counts *bpflet.PerCPUHashMap[uint32, uint64], comms *bpflet.HashMap[uint32, comm], top uint32) error {
	var totals []total
	for entry, err := range counts.All() {
		if err != nil {
			return err
		}
		var sum uint64
		for _, perCPU := range entry.Value {
			sum += perCPU
		}
		totals = append(totals, total{entry.Key, sum})
	}
	// Busiest first; the pid breaks ties so the order is stable.
	slices.SortFunc(totals, func(a, b total) int {
		return cmp.Or(cmp.Compare(b.count, a.count), cmp.Compare(a.pid, b.pid))
	})

	fmt.Fprintf(out, "[%s]\n", utcTimeOfDay())
	fmt.Fprintf(out, "%-8s %-16s COUNT\n", "PID", "COMM")
	for _, t := range totals[:min(len(totals), int(top))] {
		name, found, err := comms.Get(t.pid)
		if err != nil {
			return err
		}
		text := "?"
		if found {
			text = cli.CString(name[:])
		}
		fmt.Fprintf(out, "%-8d %-16s %d\n", t.pid, text, t.count)
	}
	io.WriteString(out, "\n")
	return out.Flush()
}

// utcTimeOfDay is HH:MM:SS in UTC: the guest has a wall clock but no time
// zone.
func utcTimeOfDay() string {
	secs := max(time.Now().Unix(), 0) % 86400
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}
