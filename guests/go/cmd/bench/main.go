// bench is the Go guest half of `make bench` (tests/bench), the twin of
// guests/rust/bench: same command line, same output lines, same timing
// boundaries, so the harness runs either and compares both with native
// libbpf-rs line for line.
//
//	bench events --size 64|512 --trigger-pid PID --count N --reps R --warmup W [--batch M] [--poll 1] [--render 1|2|3]
//
// Loads burst.bpf.o (64-byte records) or burst512.bpf.o, prints how it
// reads (`reader in-place`, `reader polled`: the ring reader without the
// map-ring grant, `reader poll`: `--poll 1`), then `ready`,
// then for each of W + R bursts (the harness triggers them one at a time
// with getppid()): waits until the program has produced or dropped the
// whole burst, then times draining it, reading each record's seq, at most
// M records per call: in place with a RingReader (the default), or with
// EventBuffer.PollInto batches (`--poll 1`):
//
//	rep I records=N ns=T sum=S dropped=D   (warm-up reps have negative I)
//
// `--render 1|2|3` (C and Go only: the guests that print through plug-ins)
// also prints every record drained from the ring, as the
// table `bpflet run burst.bpf.o` prints (struct burst_record by its BTF),
// to stdout, a batch at a time: through the render plug-in (1), or by the
// hand-written renderer below (2), which prints the same bytes; 3 is 1 with
// each record copied apart first (the SDK then packs them for the call: the
// tests check that path prints the same). The lines
// above then go to stderr, and the harness sends stdout to /dev/null.
//
// `bench check` exits at once (the harness fills bpflet's compiled cache).
//
//	bench maps --ops N --reps R
//
// Loads benchmaps.bpf.o and, per rep, times N updates then N lookups on the
// 8-byte hash map, one batched walk of it, N per-CPU array lookups, and N
// calls that do no kernel work (the cost of a host call alone):
//
//	map-update rep=I ops=N ns=T   (and map-lookup, map-lookup-batch,
//	                               percpu-lookup, host-call)
//
// The record loops read seq from each record's bytes (RingReader.Next,
// Batch.Record) rather than through ConsumeRecords or RecordsOf: those
// call a function per record, which costs more than the rest of the loop
// in Go on WebAssembly.
package main

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"bpflet.dev/guests/go/bpflet"
	"bpflet.dev/guests/go/internal/cli"
)

// The kernel halves, which build.sh copies here from target/bpf.
var (
	//go:embed burst.bpf.o
	burst []byte
	//go:embed burst512.bpf.o
	burst512 []byte
	//go:embed benchmaps.bpf.o
	benchmaps []byte
)

// recordHead is the fixed head of struct burst_record (guests/bpf/burst.h);
// the payload follows. The loops read only seq, the first 8 bytes
// (little-endian), of records at least this long.
type recordHead struct {
	Seq uint64
	CPU uint32
	_   uint32
}

const recordHeadSize = int(unsafe.Sizeof(recordHead{}))

// valueXor is what the map benchmark stores under key k (k ^ valueXor), so
// that lookups can be checked.
const valueXor = 0x5bd1_e995_5bd1_e995

const usage = "usage: bench events --trigger-pid PID [--size 64|512] [--count N] [--reps R] " +
	"[--warmup W] [--batch M] [--poll 1] [--render 1|2|3] | bench maps [--ops N] [--reps R] | bench check"

// How `--render` prints the records it drains.
const (
	renderNone   = 0
	renderPlugin = 1
	renderHand   = 2
	renderCopies = 3
)

// report is where the lines for the harness go: stdout, or stderr when
// stdout carries rendered records.
var report = os.Stdout

func init() { bpflet.Main(main) }

// main parses and fails as the Rust twin's main does: `Error: {:?}` on
// stderr, exit 1.
func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s\n", debug(err))
		os.Exit(1)
	}
}

func run(args []string) error {
	mode := ""
	if len(args) > 0 {
		mode, args = args[0], args[1:]
	}
	opts := map[string]uint64{}
	for len(args) > 0 {
		flag := args[0]
		args = args[1:]
		name, ok := strings.CutPrefix(flag, "--")
		if !ok {
			return fmt.Errorf("unexpected argument %s", cli.Quote(flag))
		}
		if len(args) == 0 {
			return fmt.Errorf("%s needs a value", flag)
		}
		value, err := parseU64(args[0])
		args = args[1:]
		if err != nil {
			return fmt.Errorf("%s: %v", flag, err)
		}
		opts[name] = value
	}
	var missing error
	opt := func(name string, fallback ...uint64) uint64 {
		if value, ok := opts[name]; ok {
			return value
		}
		if len(fallback) > 0 {
			return fallback[0]
		}
		if missing == nil {
			missing = fmt.Errorf("--%s is required", name)
		}
		return 0
	}
	switch mode {
	case "events":
		// In the Rust twin's order, so that the first missing option is the
		// one reported; `as u32` truncates as Rust's does.
		size, pid, count := opt("size", 64), uint32(opt("trigger-pid")), uint32(opt("count", 100_000))
		reps, warmup, batch := uint32(opt("reps", 5)), uint32(opt("warmup", 1)), uint32(opt("batch", 0))
		poll, render := opt("poll", 0) != 0, opt("render", renderNone)
		if missing != nil {
			return missing
		}
		switch {
		case render > renderCopies:
			return fmt.Errorf("--render takes 1 (the plug-in), 2 (by hand) or 3 (the plug-in, from copies), not %d", render)
		case render != renderNone && poll:
			return errors.New("--render reads the ring in place: not with --poll")
		case render != renderNone:
			report = os.Stderr
		}
		return events(size, pid, count, reps, warmup, batch, poll, int(render))
	case "maps":
		return maps(opt("ops", 1_000_000), opt("reps", 3))
	case "check":
		// Does nothing: the harness runs it once so that bpflet compiles
		// and caches the component before anything is measured.
		return nil
	}
	return errors.New(usage)
}

func events(size uint64, triggerPid, count, reps, warmup, batchMax uint32, poll bool, render int) error {
	var elf []byte
	switch size {
	case 64:
		elf = burst
	case 512:
		elf = burst512
	default:
		return fmt.Errorf("--size takes 64 or 512, not %d", size)
	}
	bursts := warmup + reps
	open, err := bpflet.Open(elf)
	if err != nil {
		return err
	}
	defer open.Close()
	for _, global := range []struct {
		name  string
		value uint32
	}{{"target_pid", triggerPid}, {"burst_count", count}, {"bursts_max", bursts}} {
		if err := open.SetGlobal(global.name, global.value); err != nil {
			return err
		}
	}
	obj, err := open.Load()
	if err != nil {
		return err
	}
	defer obj.Close()
	recordsMap, err := obj.Map("records")
	if err != nil {
		return err
	}
	defer recordsMap.Close()
	// One of the two readers; a poll batch whose memory every poll reuses.
	var ring *bpflet.RingReader
	var buffer *bpflet.EventBuffer
	var batch bpflet.Batch
	if poll {
		buffer, err = bpflet.OpenEventBuffer(recordsMap)
		if err != nil {
			return err
		}
		defer buffer.Close()
	} else {
		ring, err = bpflet.OpenRingReader(recordsMap)
		if err != nil {
			return err
		}
		defer ring.Close()
	}
	links, err := obj.AttachAll()
	if err != nil {
		return err
	}
	defer links.Close()
	var printer *bpflet.RecordPrinter
	switch render {
	case renderPlugin, renderCopies:
		types := obj.Printer()
		defer types.Close()
		if printer, err = types.Records("burst_record", false); err != nil {
			return err
		}
		defer printer.Close()
		os.Stdout.WriteString(printer.Header())
	case renderHand:
		os.Stdout.WriteString(header())
	}
	switch {
	case poll:
		fmt.Fprintln(report, "reader poll")
	case ring.InPlace():
		fmt.Fprintln(report, "reader in-place")
	default:
		fmt.Fprintln(report, "reader polled")
	}
	fmt.Fprintln(report, "ready")

	var producedBefore, droppedBefore uint64
	for burst := range bursts {
		// The burst is complete once every record is produced or dropped.
		var produced, dropped uint64
		for {
			p, err := bpflet.Global[uint64](obj, "produced")
			if err != nil {
				return err
			}
			d, err := bpflet.Global[uint64](obj, "dropped")
			if err != nil {
				return err
			}
			if p+d >= uint64(count)*uint64(burst+1) {
				produced, dropped = p-producedBefore, d-droppedBefore
				break
			}
			bpflet.Sleep(time.Millisecond)
		}
		producedBefore += produced
		droppedBefore += dropped
		// The reader sees the burst before the timing starts (in place or
		// polled: Wait and Ready are part of what the tests check).
		if ring != nil && produced > 0 && !ring.Wait(time.Second) {
			return fmt.Errorf("%d records were produced, and the ring reader sees none", produced)
		}

		start := bpflet.Now()
		var records, sum uint64
		if render != renderNone {
			records, sum, err = drainRender(ring, produced, batchMax, printer, render == renderCopies)
		} else if poll {
			records, sum, err = drainPoll(buffer, &batch, produced, batchMax)
		} else {
			records, sum, err = drainRing(ring, produced, batchMax)
		}
		if err != nil {
			return err
		}
		ns := bpflet.Now().Sub(start).Nanoseconds()
		rep := int64(burst) - int64(warmup)
		fmt.Fprintf(report, "rep %d records=%d ns=%d sum=%d dropped=%d\n", rep, records, ns, sum, dropped)
	}
	fmt.Fprintln(report, "done")
	return nil
}

// drainRing reads produced records in place, releasing them every max
// (0: whenever none is ready), as RingReader::consume_records does.
func drainRing(ring *bpflet.RingReader, produced uint64, max uint32) (records, sum uint64, err error) {
	limit := max
	if limit == 0 {
		limit = math.MaxUint32
	}
	for records < produced {
		n := uint32(0)
		for ; n < limit; n++ {
			record := ring.Next()
			if len(record) < recordHeadSize {
				if record == nil {
					break
				}
				ring.Release()
				return records, sum, shortRecord(len(record))
			}
			sum += binary.LittleEndian.Uint64(record)
		}
		ring.Release()
		records += uint64(n)
		// Nothing read: a poll may have failed (polled readers only).
		if err := ring.Err(); n == 0 && err != nil {
			return records, sum, err
		}
	}
	return records, sum, nil
}

// Widths of the columns of struct burst_record in the render plug-in's
// table: a u64, then two u32 (right-aligned, as wide as their largest
// value), then the payload, last and unpadded; TIME is HH:MM:SS.
const (
	seqWidth = 20
	u32Width = 10
)

func header() string {
	return fmt.Sprintf("%-8s  %*s  %*s  %*s  %s\n", "TIME", seqWidth, "SEQ", u32Width, "CPU", u32Width, "PAD", "PAYLOAD")
}

// appendRight appends n in decimal, right-aligned in width columns.
func appendRight(out []byte, n uint64, width int) []byte {
	var digits [20]byte
	text := strconv.AppendUint(digits[:0], n, 10)
	for pad := width - len(text); pad > 0; pad-- {
		out = append(out, ' ')
	}
	return append(out, text...)
}

// appendRowsByHand is the hand-written renderer: the rows the plug-in
// prints for records, appended to out.
func appendRowsByHand(out []byte, records [][]byte, unixTime uint64) []byte {
	day := unixTime % 86400
	clock := fmt.Sprintf("%02d:%02d:%02d", day/3600, day/60%60, day%60)
	for _, r := range records {
		out = append(out, clock...)
		out = append(out, "  "...)
		out = appendRight(out, binary.LittleEndian.Uint64(r), seqWidth)
		out = append(out, "  "...)
		out = appendRight(out, uint64(binary.LittleEndian.Uint32(r[8:])), u32Width)
		out = append(out, "  "...)
		out = appendRight(out, uint64(binary.LittleEndian.Uint32(r[12:])), u32Width)
		out = append(out, "  ["...)
		for i, b := range r[recordHeadSize:] {
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendUint(out, uint64(b), 10)
		}
		out = append(out, "]\n"...)
	}
	return out
}

// drainRender reads produced records in place, at most max (0: 512) a
// batch, and prints each batch to stdout, through printer (the render
// plug-in; from copies made apart when copies is set) or, when it is nil,
// by hand, before releasing it.
func drainRender(ring *bpflet.RingReader, produced uint64, max uint32, printer *bpflet.RecordPrinter, copies bool) (records, sum uint64, err error) {
	if max == 0 {
		max = 512
	}
	views := make([][]byte, 0, max)
	var text []byte
	for records < produced {
		views = views[:0]
		for uint32(len(views)) < max {
			record := ring.Next()
			if len(record) < recordHeadSize {
				if record == nil {
					break
				}
				ring.Release()
				return records, sum, shortRecord(len(record))
			}
			sum += binary.LittleEndian.Uint64(record)
			views = append(views, record)
		}
		now := uint64(time.Now().Unix())
		switch {
		case printer != nil && copies:
			os.Stdout.WriteString(printer.RowsOf(apart(views), now))
		case printer != nil:
			os.Stdout.WriteString(printer.RowsOf(views, now))
		default:
			text = appendRowsByHand(text[:0], views, now)
			os.Stdout.Write(text)
		}
		ring.Release()
		records += uint64(len(views))
	}
	return records, sum, nil
}

// apart copies records into one buffer, 32 bytes apart: too far for
// RecordPrinter.RowsOf to pass them in place.
func apart(records [][]byte) [][]byte {
	const gap = 32
	total := 0
	for _, record := range records {
		total += len(record) + gap
	}
	buf := make([]byte, total)
	copies := make([][]byte, len(records))
	at := 0
	for i, record := range records {
		copies[i] = buf[at : at+len(record)]
		copy(copies[i], record)
		at += len(record) + gap
	}
	return copies
}

// drainPoll reads produced records in batches of at most max, polled into
// batch.
func drainPoll(buffer *bpflet.EventBuffer, batch *bpflet.Batch, produced uint64, max uint32) (records, sum uint64, err error) {
	for records < produced {
		if err := buffer.PollInto(batch, 0, max); err != nil {
			return records, sum, err
		}
		for i := range batch.Len() {
			record := batch.Record(i)
			if len(record) < recordHeadSize {
				return records, sum, shortRecord(len(record))
			}
			sum += binary.LittleEndian.Uint64(record)
		}
		records += uint64(batch.Len())
	}
	return records, sum, nil
}

// shortRecord is the SDK's error for a record shorter than recordHead.
func shortRecord(length int) error {
	_, err := bpflet.Decode[recordHead](make([]byte, length))
	return err
}

func maps(ops, reps uint64) error {
	open, err := bpflet.Open(benchmaps)
	if err != nil {
		return err
	}
	defer open.Close()
	obj, err := open.Load()
	if err != nil {
		return err
	}
	defer obj.Close()
	hashMap, err := obj.Map("hash")
	if err != nil {
		return err
	}
	hash, err := bpflet.NewHashMap[uint64, uint64](hashMap)
	if err != nil {
		return err
	}
	defer hash.Close()
	percpuMap, err := obj.Map("percpu")
	if err != nil {
		return err
	}
	percpu, err := bpflet.NewPerCPUArray[uint64](percpuMap)
	if err != nil {
		return err
	}
	defer percpu.Close()
	fmt.Println("ready")

	for rep := range reps {
		start := bpflet.Now()
		for key := range ops {
			if err := hash.Insert(key, key^valueXor); err != nil {
				return err
			}
		}
		fmt.Printf("map-update rep=%d ops=%d ns=%d\n", rep, ops, since(start))

		start = bpflet.Now()
		for key := range ops {
			value, ok, err := hash.Get(key)
			if err != nil {
				return err
			}
			if !ok || value != key^valueXor {
				return fmt.Errorf("lookup of %d returned the wrong value", key)
			}
		}
		fmt.Printf("map-lookup rep=%d ops=%d ns=%d\n", rep, ops, since(start))

		start = bpflet.Now()
		var elements uint64
		for entry, err := range hash.All() {
			if err != nil {
				return err
			}
			if entry.Value != entry.Key^valueXor {
				return fmt.Errorf("batch lookup of %d returned the wrong value", entry.Key)
			}
			elements++
		}
		fmt.Printf("map-lookup-batch rep=%d ops=%d ns=%d\n", rep, elements, since(start))

		length := uint64(percpu.Len())
		start = bpflet.Now()
		var total uint64
		for i := range ops {
			values, err := percpu.Get(uint32(i % length))
			if err != nil {
				return err
			}
			for _, value := range values {
				total += value
			}
		}
		fmt.Printf("percpu-lookup rep=%d ops=%d ns=%d sum=%d\n", rep, ops, since(start), total)

		// The floor under every call above: a host call that does no
		// kernel work (borrow a resource, return a bool).
		raw := obj.Raw()
		start = bpflet.Now()
		var loaded uint64
		for range ops {
			if raw.Loaded() {
				loaded++
			}
		}
		fmt.Printf("host-call rep=%d ops=%d ns=%d loaded=%d\n", rep, ops, since(start), loaded)
	}
	fmt.Println("done")
	return nil
}

// since is the time from start, in nanoseconds.
func since(start bpflet.Instant) int64 {
	return bpflet.Now().Sub(start).Nanoseconds()
}

// parseU64 parses s as Rust's u64::from_str does, with its messages.
func parseU64(s string) (uint64, error) {
	digits := strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, errors.New("cannot parse integer from empty string")
	}
	if digits == "" {
		return 0, errors.New("invalid digit found in string")
	}
	var n uint64
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, errors.New("invalid digit found in string")
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, errors.New("number too large to fit in target type")
		}
		n = n*10 + d
	}
	return n, nil
}

// debug is err as Rust's {:?} shows the twin's errors: a message as a quoted
// string, a bpflet error as the SDK's derived Debug of its variant.
func debug(err error) string {
	var e *bpflet.Error
	if !errors.As(err, &e) {
		return cli.Quote(err.Error())
	}
	switch e.Case() {
	case bpflet.OS:
		return fmt.Sprintf("Os(OsError { errno: %d, message: %s })", e.Errno(), cli.Quote(e.Message()))
	case bpflet.LoadFailed:
		return fmt.Sprintf("LoadFailed(LoadFailure { message: %s, verifier_log: %s })",
			cli.Quote(e.Message()), cli.Quote(e.VerifierLog()))
	}
	var name strings.Builder
	for word := range strings.SplitSeq(string(e.Case()), "-") {
		name.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	return fmt.Sprintf("%s(%s)", name.String(), cli.Quote(e.Message()))
}
