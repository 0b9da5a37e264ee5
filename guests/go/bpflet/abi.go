package bpflet

// The hot paths (polling an event buffer, looking up and updating map
// elements, walking a map) call the host through the canonical ABI
// directly instead of through the generated bindings, which per call
// allocate a pinner and a return area, pin every argument and receive
// every result in fresh Go memory. Here:
//
//   - arguments are passed where they are (a key of a plain type is the
//     key variable itself): the host copies them when the call starts;
//   - flat results land in one package-level return area, copied out
//     right after the call (a goroutine can only be switched out where it
//     allocates);
//   - the lists and strings the host allocates for results come out of an
//     arena that the caller owns and reuses from call to call, because the
//     package exports cabi_import_realloc, the realloc that wit-component
//     gives every import in place of cabi_realloc. A call whose results fit
//     its arena allocates nothing in the Go heap, so the garbage collector
//     cannot run inside cabi_import_realloc (see hostCall): lookups and
//     updates need not hold it off.
//
// The layouts below are those wit-bindgen go generates for the WIT
// (bindings/imports/bpflet_ebpf_maps, ..._events); a changed signature
// fails `wasm-tools component new`, a changed layout the examples.

import (
	"encoding/binary"
	"runtime"
	"strings"
	"unsafe"

	events "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_events"
	maps "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_maps"
	types "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_types"
	witRuntime "go.bytecodealliance.org/pkg/wit/runtime"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// arenaSlack is what an arena holds beyond the results it is sized for:
// room for an error message, whose length is not known in advance.
const arenaSlack = 4 << 10

// arena is memory that the results of one host call are written into,
// reused by the next call of its owner (a map, a batch, a walk).
type arena struct {
	// 8-byte words: the canonical ABI's largest alignment.
	chunk []uint64
	// The chunk that grow replaced during the call under way, which holds
	// the call's first results until they are lifted.
	old  []uint64
	used int
	// A call's results are still being read (see Map.acquire).
	busy bool
}

// reserve makes room for n bytes of results (plus slack); called outside
// any host call.
func (a *arena) reserve(n int) {
	if n += arenaSlack; len(a.chunk)*8 < n {
		a.chunk = make([]uint64, (n+7)/8)
	}
}

// take hands out size bytes aligned to align; nil when they do not fit.
func (a *arena) take(size, align uint32) unsafe.Pointer {
	start := (a.used + int(align) - 1) &^ (int(align) - 1)
	end := start + int(size)
	if end > len(a.chunk)*8 {
		return nil
	}
	a.used = end
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(a.chunk)), start)
}

// grow replaces the chunk with one at least twice as large that holds size
// bytes (the next calls reuse it) and hands them out.
func (a *arena) grow(size, align uint32) unsafe.Pointer {
	a.old = a.chunk
	a.chunk = make([]uint64, (max(2*len(a.chunk)*8, int(size)+arenaSlack)+7)/8)
	a.used = 0
	return a.take(size, align)
}

// armed is the arena of the host call under way.
var armed *arena

// arm makes a receive the results of the next host call; disarm, right
// after the call, ends that.
func arm(a *arena) {
	a.used, a.old = 0, nil
	armed = a
}

func disarm() {
	armed = nil
}

// pinner holds what importRealloc allocated outside an arena until the
// host call has returned and its results are lifted (releaseGC unpins it).
var pinner runtime.Pinner

// importRealloc is cabi_import_realloc: the armed arena when there is one,
// otherwise what the bindings' cabi_realloc does (a pinned Go allocation).
// Either allocation pauses the adapter's monotonic clock, as the
// bindings' runtime does, since the collector may read it.
//
// Growing an arena in the Go heap is safe in calls that hold off the
// collector (polls, walks: hostCall), whose results have no size known in
// advance. The others (lookups, updates) size their arena for their
// results plus arenaSlack for an error message, so they do not grow it in
// practice; if one did, a collection that happened to end right there
// would trap.
func importRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if old != nil || oldSize != 0 {
		panic("cabi_import_realloc: the canonical ABI never reallocates import results")
	}
	if a := armed; a != nil {
		if p := a.take(newSize, align); p != nil || newSize == 0 {
			return p
		}
		clockPaused(true)
		p := a.grow(newSize, align)
		clockPaused(false)
		return p
	}
	clockPaused(true)
	p := witRuntime.Allocate(&pinner, uintptr(newSize), uintptr(align))
	clockPaused(false)
	return p
}

// retArea receives the flat results of the calls below, which copy it to
// a flat at once.
var retArea flat

// flat is the flat results of one call.
type flat [8]uint64

func (f *flat) u32(offset uintptr) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(f), offset))
}

func (f *flat) u64(offset uintptr) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(f), offset))
}

// tag is the case of the result, option or variant at offset.
func (f *flat) tag(offset uintptr) uint8 {
	return *(*uint8)(unsafe.Add(unsafe.Pointer(f), offset))
}

// bytes is the list<u8> whose pointer and length are at offset.
func (f *flat) bytes(offset uintptr) []byte {
	return unsafe.Slice((*byte)(guestPointer(f.u32(offset))), f.u32(offset+4))
}

// string copies out the string at offset: it may live in an arena.
func (f *flat) string(offset uintptr) string {
	return strings.Clone(unsafe.String((*byte)(guestPointer(f.u32(offset))), f.u32(offset+4)))
}

// error lifts the error variant at offset (its case, then its payload at
// offset+4), as the bindings do.
func (f *flat) error(offset uintptr) error {
	var raw types.Error
	switch payload := offset + 4; f.tag(offset) {
	case types.Error_NotFound:
		raw = types.MakeErrorNotFound(f.string(payload))
	case types.Error_InvalidArgument:
		raw = types.MakeErrorInvalidArgument(f.string(payload))
	case types.Error_AlreadyExists:
		raw = types.MakeErrorAlreadyExists(f.string(payload))
	case types.Error_PermissionDenied:
		raw = types.MakeErrorPermissionDenied(f.string(payload))
	case types.Error_Unsupported:
		raw = types.MakeErrorUnsupported(f.string(payload))
	case types.Error_InvalidState:
		raw = types.MakeErrorInvalidState(f.string(payload))
	case types.Error_LoadFailed:
		raw = types.MakeErrorLoadFailed(types.LoadFailure{Message: f.string(payload), VerifierLog: f.string(payload + 8)})
	case types.Error_Os:
		raw = types.MakeErrorOs(types.OsError{Errno: f.u32(payload), Message: f.string(payload + 4)})
	default:
		panic("unreachable")
	}
	return &Error{raw: raw}
}

// guestPointer is the guest memory at address, which the host returned:
// memory that importRealloc handed out.
func guestPointer(address uint32) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(nil), address)
}

// argOf points at the bytes of *value in the BPF layout: value itself for
// a plain type, an encoded copy otherwise.
func argOf[T any](l *layout, value *T) (unsafe.Pointer, uint32) {
	if l.plain {
		return unsafe.Pointer(value), uint32(l.size)
	}
	bytes := encodeSlow(l, *value)
	return unsafe.Pointer(unsafe.SliceData(bytes)), uint32(len(bytes))
}

func bytesArg(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

// optionalBytes lifts a result<option<list<u8>>, error>: case at 0,
// payload at 4 (the option's case; its list at 8).
func (f *flat) optionalBytes() ([]byte, bool, error) {
	switch {
	case f.tag(0) != 0:
		return nil, false, f.error(4)
	case f.tag(4) == 0:
		return nil, false, nil
	}
	return f.bytes(8), true, nil
}

// mapLookup is bpf-map.lookup; the value lives in a until a's next call.
func mapLookup(m *maps.BpfMap, a *arena, key unsafe.Pointer, keyLen uint32) ([]byte, bool, error) {
	arm(a)
	importMapLookup(m.Handle(), key, keyLen, unsafe.Pointer(&retArea))
	disarm()
	ret := retArea
	return ret.optionalBytes()
}

// mapLookupPerCPU is bpf-map.lookup-per-cpu: the values of every possible
// CPU, back to back; they live in a until a's next call. Results:
// result<option<list<u8>>, error>.
func mapLookupPerCPU(m *maps.BpfMap, a *arena, key unsafe.Pointer, keyLen uint32) ([]byte, bool, error) {
	arm(a)
	importMapLookupPerCPU(m.Handle(), key, keyLen, unsafe.Pointer(&retArea))
	disarm()
	ret := retArea
	return ret.optionalBytes()
}

// mapLookupWord is lookup-word. Results: result<option<u64>, error>, case
// at 0, payload at 8 (the option's case; its u64 at 16).
func mapLookupWord(a *arena, handle uint32, key uint64) (uint64, bool, error) {
	arm(a)
	importLookupWord(handle, key, unsafe.Pointer(&retArea))
	disarm()
	ret := retArea
	switch {
	case ret.tag(0) != 0:
		return 0, false, ret.error(8)
	case ret.tag(8) == 0:
		return 0, false, nil
	}
	return ret.u64(16), true, nil
}

// mapUpdateWord is update-word. Results: result<_, error>.
func mapUpdateWord(a *arena, handle uint32, key, value uint64, flag UpdateFlag) error {
	arm(a)
	importUpdateWord(handle, key, value, uint32(flag), unsafe.Pointer(&retArea))
	disarm()
	if ret := retArea; ret.tag(0) != 0 {
		return ret.error(4)
	}
	return nil
}

// word is the little-endian number whose low bytes are the length bytes
// at pointer (at most 8).
func word(pointer unsafe.Pointer, length uint32) uint64 {
	var buf [8]byte
	copy(buf[:], unsafe.Slice((*byte)(pointer), length))
	return binary.LittleEndian.Uint64(buf[:])
}

// mapUpdate is bpf-map.update. Results: result<_, error>.
func mapUpdate(m *maps.BpfMap, a *arena, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32, flag UpdateFlag) error {
	arm(a)
	importMapUpdate(m.Handle(), key, keyLen, value, valueLen, uint32(flag), unsafe.Pointer(&retArea))
	disarm()
	if ret := retArea; ret.tag(0) != 0 {
		return ret.error(4)
	}
	return nil
}

// mapDelete is bpf-map.delete. Results: result<_, error>.
func mapDelete(m *maps.BpfMap, a *arena, key unsafe.Pointer, keyLen uint32) error {
	arm(a)
	importMapDelete(m.Handle(), key, keyLen, unsafe.Pointer(&retArea))
	disarm()
	if ret := retArea; ret.tag(0) != 0 {
		return ret.error(4)
	}
	return nil
}

// mapLookupBatch is bpf-map.lookup-batch into a, holding off the collector
// (a page's size is not known in advance). Results: result<entries, error>:
// count at 4, keys at 8, values at 16, next (option) at 24.
func mapLookupBatch(m *maps.BpfMap, a *arena, cursor []byte, max uint32) (Entries, error) {
	gc := holdGC()
	defer releaseGC(gc)
	var some uint32
	if cursor != nil {
		some = 1
	}
	pointer, length := bytesArg(cursor)
	arm(a)
	importMapLookupBatch(m.Handle(), some, pointer, length, max, unsafe.Pointer(&retArea))
	disarm()
	ret := retArea
	if ret.tag(0) != 0 {
		return Entries{}, ret.error(4)
	}
	entries := Entries{Count: ret.u32(4), Keys: ret.bytes(8), Values: ret.bytes(16)}
	if ret.tag(24) != 0 {
		entries.Next = witTypes.Some(ret.bytes(28))
	}
	return entries, nil
}

// eventBufferPoll is event-buffer.poll into a, holding off the collector.
// Results: result<batch, error>, 8-byte aligned: data at 8, offsets at 16,
// lost at 24; the error at 8.
func eventBufferPoll(b *events.EventBuffer, a *arena, timeoutMs, maxRecords uint32) (events.Batch, error) {
	gc := holdGC()
	defer releaseGC(gc)
	arm(a)
	importEventBufferPoll(b.Handle(), timeoutMs, maxRecords, unsafe.Pointer(&retArea))
	disarm()
	ret := retArea
	if ret.tag(0) != 0 {
		return events.Batch{}, ret.error(8)
	}
	offsets := unsafe.Slice((*uint32)(guestPointer(ret.u32(16))), ret.u32(20))
	return events.Batch{Data: ret.bytes(8), Offsets: offsets, Lost: ret[3]}, nil
}
