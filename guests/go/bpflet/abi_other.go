//go:build !wasip1

package bpflet

import "unsafe"

// Outside WebAssembly (the package's unit tests) there is no host: the
// imports of abi_wasip1.go only exist to compile.

func noHost() { panic("bpflet: host calls need the bpflet host (GOOS=wasip1 GOARCH=wasm)") }

func importMapLookup(int32, unsafe.Pointer, uint32, unsafe.Pointer)       { noHost() }
func importMapLookupPerCPU(int32, unsafe.Pointer, uint32, unsafe.Pointer) { noHost() }
func importMapUpdate(int32, unsafe.Pointer, uint32, unsafe.Pointer, uint32, uint32, unsafe.Pointer) {
	noHost()
}
func importMapDelete(int32, unsafe.Pointer, uint32, unsafe.Pointer)                      { noHost() }
func importLookupWord(uint32, uint64, unsafe.Pointer)                                    { noHost() }
func importUpdateWord(uint32, uint64, uint64, uint32, unsafe.Pointer)                    { noHost() }
func importMapLookupBatch(int32, uint32, unsafe.Pointer, uint32, uint32, unsafe.Pointer) { noHost() }
func importEventBufferPoll(int32, uint32, uint32, unsafe.Pointer)                        { noHost() }
func clockPaused(bool)                                                                   {}

func recordsWaiting(*EventBuffer) bool { noHost(); return false }
