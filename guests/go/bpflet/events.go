package bpflet

import (
	"iter"
	"math"
	"time"
	"unsafe"

	events "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_events"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// BufferKind says whether an event buffer is a ring or a perf buffer.
type BufferKind = events.BufferKind

const (
	RingBuffer = events.BufferKind_Ring
	PerfBuffer = events.BufferKind_Perf
)

// EventBuffer is a ring buffer (BPF_MAP_TYPE_RINGBUF) or perf buffer
// (BPF_MAP_TYPE_PERF_EVENT_ARRAY) opened for reading.
//
// Open it before attaching the programs that write to it: a perf buffer
// drops what is written while no reader is open (a ring buffer keeps it).
type EventBuffer struct {
	raw *events.EventBuffer
	// What Subscribe returned: the host refuses to drop a buffer while a
	// pollable of it lives, so the buffer owns the one it hands out.
	ready *Pollable
	// Bytes the last poll received: what Poll sizes a new batch for.
	lastPoll int
}

// OpenEventBuffer opens m, a ring or perf buffer (other map types are
// invalid-argument). Perf buffers get the host's default size.
func OpenEventBuffer(m *Map) (*EventBuffer, error) {
	return openEventBuffer(m, witTypes.None[uint32]())
}

// OpenEventBufferPages opens m with pagesPerCPU pages per CPU for a perf
// buffer (ignored for a ring buffer, whose size the BPF side fixes).
func OpenEventBufferPages(m *Map, pagesPerCPU uint32) (*EventBuffer, error) {
	return openEventBuffer(m, witTypes.Some(pagesPerCPU))
}

func openEventBuffer(m *Map, pages witTypes.Option[uint32]) (*EventBuffer, error) {
	raw, err := result(hostCall(func() witTypes.Result[*events.EventBuffer, witError] {
		return events.EventBufferOpen(m.raw, pages)
	}))
	if err != nil {
		return nil, err
	}
	return &EventBuffer{raw: raw}, nil
}

// Kind is ring or perf.
func (b *EventBuffer) Kind() BufferKind {
	return b.raw.Kind()
}

// Poll waits up to timeout (rounded up to a millisecond) for records and
// returns at most maxRecords of them (0: all that are waiting). An empty
// batch means the time ran out. The batch is the caller's to keep; to
// drain a buffer without allocating, reuse one batch with PollInto.
func (b *EventBuffer) Poll(timeout time.Duration, maxRecords uint32) (*Batch, error) {
	batch := new(Batch)
	// Fresh memory, sized as the previous poll needed it.
	batch.results.reserve(b.lastPoll)
	if err := b.PollInto(batch, timeout, maxRecords); err != nil {
		return nil, err
	}
	return batch, nil
}

// PollInto is Poll into batch: the records land in the memory that batch
// held, overwriting its previous records (copy what must outlive them),
// which spares an allocation and the garbage collector's work per poll
// once the batch has grown to the size of a poll. A failed poll leaves
// batch empty.
//
//	var batch bpflet.Batch
//	for {
//		if err := ring.PollInto(&batch, time.Second, 0); err != nil { ... }
//		for record := range batch.Records() { ... }
//	}
func (b *EventBuffer) PollInto(batch *Batch, timeout time.Duration, maxRecords uint32) error {
	ms := uint32(math.MaxUint32)
	if timeout <= 0 {
		ms = 0
	} else if rounded := (timeout + time.Millisecond - 1) / time.Millisecond; rounded < math.MaxUint32 {
		ms = uint32(rounded)
	}
	raw, err := eventBufferPoll(b.raw, &batch.results, ms, maxRecords)
	b.lastPoll = batch.results.used
	if err == nil {
		err = batch.set(raw)
	}
	if err != nil {
		batch.set(events.Batch{})
	}
	return err
}

// Lost is the number of records the kernel dropped since the buffer was
// opened.
func (b *EventBuffer) Lost() uint64 {
	return b.raw.Lost()
}

// Subscribe returns a pollable that is ready when records are waiting, to
// [Wait] on this buffer together with others and with timers. It is the
// same pollable every time, owned by the buffer: Close drops it, so do not
// Drop it yourself.
func (b *EventBuffer) Subscribe() *Pollable {
	if b.ready == nil {
		b.ready = b.raw.Subscribe()
	}
	return b.ready
}

// Raw is the buffer as the bindings have it.
func (b *EventBuffer) Raw() *events.EventBuffer {
	return b.raw
}

// Close stops reading (and drops the pollable of Subscribe). Safe to call
// more than once.
func (b *EventBuffer) Close() {
	if b.ready != nil {
		b.ready.Drop()
	}
	b.raw.Drop()
}

// Batch is the records one Poll returned. They live back to back in one
// byte slice (one copy per poll, not one per record; one allocation too,
// none with PollInto), so a record is a sub-slice with no alignment
// guarantee.
type Batch struct {
	data    []byte
	offsets []uint32
	lost    uint64
	// The memory the host writes the records into (see PollInto).
	results arena
}

// newBatch checks the offsets once so that reading records cannot fail.
func newBatch(raw events.Batch) (*Batch, error) {
	batch := new(Batch)
	if err := batch.set(raw); err != nil {
		return nil, err
	}
	return batch, nil
}

func (b *Batch) set(raw events.Batch) error {
	previous := uint32(0)
	for _, offset := range raw.Offsets {
		if offset < previous || int(offset) > len(raw.Data) {
			return invalidArgument("host sent record offset %d after %d in a batch of %d bytes",
				offset, previous, len(raw.Data))
		}
		previous = offset
	}
	b.data, b.offsets, b.lost = raw.Data, raw.Offsets, raw.Lost
	return nil
}

// Len is the number of records.
func (b *Batch) Len() int {
	return len(b.offsets)
}

// Lost is the number of records the kernel dropped since the previous poll
// (perf buffers only; a ring buffer drops at the producer, where the
// reserve fails).
func (b *Batch) Lost() uint64 {
	return b.lost
}

// Record is record i as bytes (a slice of the batch: copy to keep it past
// the batch).
func (b *Batch) Record(i int) []byte {
	end := len(b.data)
	if i+1 < len(b.offsets) {
		end = int(b.offsets[i+1])
	}
	return b.data[b.offsets[i]:end:end]
}

// Records yields the records as bytes, in the order the kernel produced
// them:
//
//	for record := range batch.Records() { ... }
func (b *Batch) Records() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := range b.offsets {
			if !yield(b.Record(i)) {
				return
			}
		}
	}
}

// Data and Offsets are the packed records and where each starts.
func (b *Batch) Data() []byte      { return b.data }
func (b *Batch) Offsets() []uint32 { return b.offsets }

// RecordsOf decodes every record of batch as a T, the struct the BPF
// program writes, read from the start of each record (see [Decode]). A
// record shorter than T means T is not what the program writes: that is an
// invalid-argument error for the whole batch, checked before any record is
// yielded. A T of integers, floats, and arrays and structs of them without
// padding is read with a load per record (a copy where a record is not
// aligned for it), with no allocation.
//
//	records, err := bpflet.RecordsOf[event](batch)
//	if err != nil { ... }
//	for e := range records { ... }
func RecordsOf[T any](batch *Batch) (iter.Seq[T], error) {
	l, err := layoutOf[T]()
	if err != nil {
		return nil, err
	}
	// One pass over the offsets: the shortest record decides, and whether
	// every record is aligned for T, to be read with a load.
	data, offsets := batch.data, batch.offsets
	base := unsafe.Pointer(unsafe.SliceData(data))
	direct := l.direct(base)
	for i, start := range offsets {
		end := uint32(len(data))
		if i+1 < len(offsets) {
			end = offsets[i+1]
		}
		if int(end-start) < l.size {
			return nil, invalidArgument("record of %d bytes is shorter than %v (%d bytes)", end-start, l.typ, l.size)
		}
		direct = direct && uintptr(start)&l.alignMask == 0
	}
	if direct {
		return func(yield func(T) bool) {
			for _, start := range offsets {
				if !yield(*(*T)(unsafe.Add(base, start))) {
					return
				}
			}
		}, nil
	}
	return func(yield func(T) bool) {
		for _, start := range offsets {
			if !yield(decode[T](l, data[start:])) {
				return
			}
		}
	}, nil
}
