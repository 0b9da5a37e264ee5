// Package bpflet writes the user-space half of an eBPF program as a bpflet
// component in Go.
//
// The generated bindings (bpflet.dev/guests/go/bindings/imports/...) are the
// whole bpflet:ebpf WIT package as wit-bindgen go writes it: every host
// function, taking and returning bytes. This package is a thin typed layer
// on top, in the spirit of Aya and of the Rust SDK:
//
//   - [OpenObject] → [Object]: open and configure, load, then attach, as
//     libbpf does it; two types, so that what belongs before load (globals,
//     autoload) cannot be called after it, nor maps and attachments before.
//   - [HashMap], [PerCPUHashMap], [Array], [PerCPUArray]: maps with Go key
//     and value types, checked against the map's real type and sizes.
//   - [EventBuffer]: ring and perf buffers that deliver a [Batch] of records,
//     as bytes ([Batch.Records]) or decoded ([Decode], [RecordsOf]);
//     [EventBuffer.PollInto] reuses one batch's memory from poll to poll.
//   - [RingReader]: a ring buffer read in place, mapped into guest memory,
//     with no copy and no host call per record or batch (with the map-ring
//     grant, bpflet run --allow map-ring; polled behind the same calls
//     without it): Next and Release, or a callback per record with Consume
//     and ConsumeRecords.
//   - [Timer], [Wait], [Sleep], [Now]: timers and waiting on several sources
//     at once with wasi:io/poll and the monotonic clock.
//   - [StopRequested], [SubscribeStop]: stopping cleanly on SIGINT/SIGTERM.
//   - [Error]: the WIT error variant as a Go error.
//   - [Main]: the component's wasi:cli/run export.
//
// A program:
//
//	//go:embed execsnoop.bpf.o
//	var elf []byte
//
//	func init() { bpflet.Main(main) }
//
//	func main() {
//		open, err := bpflet.Open(elf)
//		...
//		defer open.Close()
//		err = open.SetGlobal("target_ppid", uint32(1))
//		...
//		obj, err := open.Load()
//		...
//		defer obj.Close()
//		links, err := obj.AttachAll()
//		...
//		defer links.Close()
//		...
//		os.Exit(1) // on failure; returning is success
//	}
//
// # Byte layout of keys, values, globals and records
//
// Go types stand for the C types of the BPF program with the rules of
// encoding/binary in little-endian order (the byte order of BPF on every
// architecture bpflet runs on, and of WebAssembly): fixed-size integers,
// floats, bools, arrays and structs of them, with no implicit padding. A C
// struct with padding needs explicit blank fields (`_ [4]byte`) in its Go
// twin; typed maps check the resulting size against the map's. Types whose
// Go memory layout is that encoding (no bool, no padding) are copied as
// they are instead of going through reflection.
//
// Per-CPU maps hold one value per possible CPU in every element: typed
// per-CPU maps take and return them as a []V, CPU 0 first; raw calls
// ([Map.LookupPerCPU], [Map.UpdatePerCPU], batches) as one byte slice with
// the values back to back, value-size bytes apart. Whether a map is per-CPU
// is its [MapInfo]'s PerCpu.
//
// # Hot loops
//
// A function call costs more in Go on WebAssembly than the rest of a loop
// over records: the iterators ([Batch.Records], [RecordsOf], the map
// walks) and callbacks ([RingReader.Consume]) make one per element. Loops
// over many records read them with [RingReader.Next] or [Batch.Len] and
// [Batch.Record]. Typed map calls pass plain keys and values where they are
// and receive results into memory each map reuses: they allocate nothing
// but what they return (per-CPU values).
//
// # Handles
//
// Objects, links, maps and buffers are host resources. Close them (defer)
// when done: besides freeing them early, the deferred call keeps the Go
// value reachable, because the garbage collector drops an unreachable handle
// and with it the kernel object (an unreachable link detaches its program).
// A [RingReader] is the exception: it stays open (and mapped) until closed.
package bpflet

import (
	"math"
	"runtime/debug"

	run "bpflet.dev/guests/go/bindings/exports/export_wasi_cli_run"
	_ "bpflet.dev/guests/go/bindings/exports/wit_exports" // the wasi:cli/run export itself
	witRuntime "go.bytecodealliance.org/pkg/wit/runtime"
)

// Main makes main the program's entry point: the component's wasi:cli/run
// export calls it. Call it from an init function:
//
//	func init() { bpflet.Main(main) }
//
// A Go component is built with -buildmode=c-shared, whose runtime runs
// init functions but never main.main by itself. Returning from main is
// success; os.Exit(n) with n != 0 is failure.
func Main(main func()) {
	run.Main = main
}

// hostCall calls into the host for results that the host writes into guest
// memory (every string, list and error), working around two traits of the
// wit-bindgen go 0.63 runtime:
//
//   - The host allocates results through cabi_realloc (cabi_import_realloc,
//     see abi.go), which may run the garbage collector; a collection that
//     ends there reads the wall clock, and the component model forbids
//     calling an import (the clock) from inside cabi_realloc: the guest traps
//     ("cannot leave component instance"). Collection is therefore held off
//     for the call; disabling it first waits for a collection under way to
//     finish.
//   - cabi_realloc pins every allocation in a package-level pinner that the
//     import bindings never release, so each call would leak its results
//     (importRealloc pins what it allocates outside an arena the same way).
//     Unpinning once the call has returned is safe: the results are ordinary
//     Go memory, kept alive by the values that refer to them.
func hostCall[T any](call func() T) T {
	gc := holdGC()
	result := call()
	releaseGC(gc)
	return result
}

// gcHeld is what holdGC turned off.
type gcHeld struct {
	percent int
	limit   int64
}

// holdGC holds off the garbage collector for a host call (see hostCall):
// no collection by heap growth, none by a memory limit (GOMEMLIMIT);
// releaseGC, once the results are lifted, lets it run again.
func holdGC() gcHeld {
	return gcHeld{percent: debug.SetGCPercent(-1), limit: debug.SetMemoryLimit(math.MaxInt64)}
}

func releaseGC(held gcHeld) {
	witRuntime.Unpin()
	pinner.Unpin()
	debug.SetMemoryLimit(held.limit)
	debug.SetGCPercent(held.percent)
}
