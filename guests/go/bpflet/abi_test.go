package bpflet

import (
	"slices"
	"testing"
	"unsafe"

	events "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_events"
)

func TestArena(t *testing.T) {
	var a arena
	a.reserve(16)
	base := uintptr(unsafe.Pointer(&a.chunk[0]))
	arm(&a)
	p1 := importRealloc(nil, 0, 1, 3)
	p2 := importRealloc(nil, 0, 8, 16)
	if uintptr(p1) != base || uintptr(p2) != base+8 {
		t.Fatalf("arena hands out %#x, %#x from %#x", p1, p2, base)
	}
	// Beyond the slack: the arena grows, keeping the old chunk for the
	// call.
	p3 := importRealloc(nil, 0, 4, 2*arenaSlack)
	disarm()
	if uintptr(p3) != uintptr(unsafe.Pointer(&a.chunk[0])) || len(a.chunk)*8 < 2*arenaSlack || a.old == nil {
		t.Fatalf("no growth: %#x, %d bytes", p3, len(a.chunk)*8)
	}
	// The next call reuses the grown chunk from its start.
	arm(&a)
	if p := importRealloc(nil, 0, 1, 100); p != unsafe.Pointer(&a.chunk[0]) || a.old != nil {
		t.Fatal("the grown chunk is not reused")
	}
	disarm()
	// Unarmed: a pinned heap allocation, as the bindings' runtime does.
	if p := importRealloc(nil, 0, 4, 8); p == nil || uintptr(p)%4 != 0 {
		t.Fatalf("fallback allocation %#x", p)
	}
	pinner.Unpin()
}

func TestRecordsOfAligned(t *testing.T) {
	words := make([]uint64, 8)
	data := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 64)
	for i := range 4 {
		data[i*16] = byte(i + 1)
	}
	batch, err := newBatch(events.Batch{Data: data, Offsets: []uint32{0, 16, 32, 48}})
	if err != nil {
		t.Fatal(err)
	}
	records, err := RecordsOf[padded](batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for r := range records {
		got = append(got, r.A)
	}
	if !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Errorf("RecordsOf = %v", got)
	}
	// One record off its alignment: every record is copied.
	batch, _ = newBatch(events.Batch{Data: data[:60], Offsets: []uint32{0, 8, 20, 36}})
	words64, err := RecordsOf[uint64](batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(words64); !slices.Equal(got, []uint64{1, 0, 0, 0}) {
		t.Errorf("RecordsOf misaligned = %v", got)
	}
}
