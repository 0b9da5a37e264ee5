package bpflet

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"unsafe"

	render "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_render"
)

// fakeRing lays out records in a ring reader over Go memory, as the kernel
// does: 8-byte headers (length, busy and discard bits), payloads padded to
// 8 bytes.
type fakeRing struct {
	words    []uint64 // data area, 8-byte aligned
	producer uint64
	consumer uint64
}

func (f *fakeRing) push(payload []byte, bits uint32) {
	data := unsafe.Slice((*byte)(unsafe.Pointer(&f.words[0])), len(f.words)*8)
	at := f.producer % uint64(len(data))
	binary.LittleEndian.PutUint32(data[at:], uint32(len(payload))|bits)
	copy(data[at+ringHeaderLen:], payload)
	f.producer += (uint64(len(payload)) + ringHeaderLen + 7) &^ 7
}

func (f *fakeRing) reader() *RingReader {
	// The data area is mapped twice in a real ring; these tests stay in the
	// first half.
	return &RingReader{
		consumer: &f.consumer,
		producer: &f.producer,
		data:     unsafe.Pointer(&f.words[0]),
		mask:     uint64(len(f.words)*8/2 - 1),
	}
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func TestRingNext(t *testing.T) {
	f := &fakeRing{words: make([]uint64, 128)}
	r := f.reader()
	if r.Next() != nil || r.Ready() {
		t.Fatal("an empty ring has a record")
	}
	f.push(u64(1), 0)
	f.push([]byte{9, 9, 9}, ringDiscardBit)
	f.push(append(u64(2), 7, 7, 7), 0)
	f.push(u64(3), ringBusyBit)
	if !r.Ready() {
		t.Fatal("not ready")
	}
	var got [][]byte
	for record := r.Next(); record != nil; record = r.Next() {
		got = append(got, slices.Clone(record))
	}
	if want := [][]byte{u64(1), append(u64(2), 7, 7, 7)}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("records %v; want %v (the discarded one skipped, stop at the busy one)", got, want)
	}
	if f.consumer != 0 {
		t.Fatal("consumer moved before Release")
	}
	r.Release()
	if want := uint64(16 + 16 + 24); f.consumer != want {
		t.Fatalf("consumer %d; want %d", f.consumer, want)
	}
}

func TestRingConsume(t *testing.T) {
	f := &fakeRing{words: make([]uint64, 128)}
	r := f.reader()
	for i := range uint64(5) {
		f.push(u64(i), 0)
	}
	var seen []uint64
	if n := r.Consume(2, func(record []byte) { seen = append(seen, binary.LittleEndian.Uint64(record)) }); n != 2 {
		t.Fatalf("Consume(2) = %d", n)
	}
	if f.consumer != 32 {
		t.Fatalf("consumer %d after two records", f.consumer)
	}
	n, err := ConsumeRecords(r, 0, func(v uint64) { seen = append(seen, v) })
	if n != 3 || err != nil || !slices.Equal(seen, []uint64{0, 1, 2, 3, 4}) {
		t.Fatalf("ConsumeRecords = %d, %v; seen %v", n, err, seen)
	}
	f.push(u64(5), 0)
	f.push([]byte{1, 2}, 0)
	f.push(u64(6), 0)
	n, err = ConsumeRecords(r, 0, func(v uint64) { seen = append(seen, v) })
	if n != 1 || !errors.Is(err, ErrInvalidArgument) || seen[len(seen)-1] != 5 {
		t.Fatalf("short record: %d, %v, %v", n, err, seen)
	}
	if record := r.Next(); len(record) != 2 {
		t.Fatalf("the short record was consumed: next is %v", record)
	}
}

func TestRingClosed(t *testing.T) {
	f := &fakeRing{words: make([]uint64, 16)}
	r := f.reader()
	f.push(u64(1), 0)
	openRings[r] = struct{}{}
	r.detach()
	if _, ok := openRings[r]; ok || r.Next() != nil || r.Ready() {
		t.Fatal("a closed reader has records")
	}
}

// RowsOf hands the plug-in one stretch of a reader's memory only for
// records inside it, in order and at most a ring header apart.
func TestRecordsInPlace(t *testing.T) {
	mem := make([]byte, 256)
	spans := make([]render.Span, 3)
	at := func(offset, size int) []byte { return mem[offset : offset+size] }
	stretch, ok := inPlace(mem, [][]byte{at(8, 10), at(24, 10), at(50, 4)}, spans)
	if !ok || len(stretch) != 54-8 || &stretch[0] != &mem[8] ||
		spans[1] != (render.Span{Offset: 16, Len: 10}) || spans[2] != (render.Span{Offset: 42, Len: 4}) {
		t.Fatalf("in order, 6 and 16 bytes apart: %v %d %v", ok, len(stretch), spans)
	}
	for name, records := range map[string][][]byte{
		"17 bytes apart":   {at(8, 10), at(35, 10)},
		"out of order":     {at(24, 10), at(8, 10)},
		"overlapping":      {at(8, 10), at(12, 10)},
		"outside the ring": {at(8, 10), make([]byte, 4)},
	} {
		if _, ok := inPlace(mem, records, spans); ok {
			t.Errorf("%s: passed in place", name)
		}
	}
	if _, ok := inPlace(mem[:200], [][]byte{at(190, 20)}, spans); ok {
		t.Error("a record running past the memory passed in place")
	}
}
