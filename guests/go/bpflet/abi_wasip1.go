package bpflet

import "unsafe"

// The imports of the hot paths (see abi.go), declared as the bindings
// declare them, with the pointers typed so that the compiler keeps what
// they point at alive for the call. The host reads the arguments when the
// call starts and writes only to ret and to what cabi_import_realloc hands
// out.

//go:wasmimport bpflet:ebpf/maps@0.2.0 [method]bpf-map.lookup
//go:noescape
func importMapLookup(self int32, key unsafe.Pointer, keyLen uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 [method]bpf-map.lookup-per-cpu
//go:noescape
func importMapLookupPerCPU(self int32, key unsafe.Pointer, keyLen uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 [method]bpf-map.update
//go:noescape
func importMapUpdate(self int32, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32, flag uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 lookup-word
//go:noescape
func importLookupWord(handle uint32, key uint64, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 update-word
//go:noescape
func importUpdateWord(handle uint32, key uint64, value uint64, flag uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 [method]bpf-map.delete
//go:noescape
func importMapDelete(self int32, key unsafe.Pointer, keyLen uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/maps@0.2.0 [method]bpf-map.lookup-batch
//go:noescape
func importMapLookupBatch(self int32, cursorSome uint32, cursor unsafe.Pointer, cursorLen uint32, max uint32, ret unsafe.Pointer)

//go:wasmimport bpflet:ebpf/events@0.2.0 [method]event-buffer.poll
//go:noescape
func importEventBufferPoll(self int32, timeoutMs uint32, maxRecords uint32, ret unsafe.Pointer)

// clockPaused is the adapter's switch for cabi_realloc, as the bindings'
// runtime uses it: while paused, reading the monotonic clock (which the
// collector may do) returns a cached value instead of calling an import.
//
//go:wasmimport wasi_snapshot_preview1 adapter_monotonic_clock_set_paused
func clockPaused(paused bool)

// cabiImportRealloc allocates the results of every import (wit-component
// prefers this export to cabi_realloc for imports): see importRealloc.
//
//go:wasmexport cabi_import_realloc
func cabiImportRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	return importRealloc(old, oldSize, align, newSize)
}

// recordsWaiting reports whether the buffer has records, without waiting
// (on the buffer's own pollable, which it keeps).
func recordsWaiting(b *EventBuffer) bool {
	return b.Subscribe().Ready()
}
