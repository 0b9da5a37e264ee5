package bpflet

// These tests cover what runs without a host: layouts, batches, errors,
// instants. The examples (cmd/) exercise the host calls against the kernel.

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	events "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_events"
	types "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_types"
)

type padded struct {
	A uint64
	B uint32
	_ [4]byte
}

type withBool struct {
	On  bool
	Pad [3]byte
	N   uint32
}

func TestLayout(t *testing.T) {
	l, err := layoutOf[padded]()
	if err != nil || l.size != 16 || !l.plain {
		t.Fatalf("padded: %+v, %v", l, err)
	}
	bytes := encode(l, padded{A: 0x0102030405060708, B: 0x0a0b0c0d})
	want := []byte{8, 7, 6, 5, 4, 3, 2, 1, 0xd, 0xc, 0xb, 0xa, 0, 0, 0, 0}
	if !slices.Equal(bytes, want) {
		t.Errorf("encode(padded) = %x; want %x", bytes, want)
	}
	if back := decode[padded](l, bytes); back.A != 0x0102030405060708 || back.B != 0x0a0b0c0d {
		t.Errorf("decode(padded) = %+v", back)
	}

	l, err = layoutOf[withBool]()
	if err != nil || l.size != 8 || l.plain {
		t.Fatalf("withBool: %+v, %v", l, err)
	}
	bytes = encode(l, withBool{On: true, N: 7})
	if !slices.Equal(bytes, []byte{1, 0, 0, 0, 7, 0, 0, 0}) {
		t.Errorf("encode(withBool) = %x", bytes)
	}
	if back := decode[withBool](l, bytes); !back.On || back.N != 7 {
		t.Errorf("decode(withBool) = %+v", back)
	}

	for name, check := range map[string]func() (*layout, error){
		"int":     layoutOf[int],
		"pointer": layoutOf[*uint32],
		"slice":   layoutOf[[]byte],
		"string":  layoutOf[string],
	} {
		if _, err := check(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("layoutOf[%s] = %v; want invalid-argument", name, err)
		}
	}
}

func TestDecode(t *testing.T) {
	if v, err := Decode[uint32]([]byte{1, 2, 3, 4, 0xff}); err != nil || v != 0x04030201 {
		t.Errorf("Decode[uint32] = %x, %v", v, err)
	}
	_, err := Decode[uint64]([]byte{1, 2, 3})
	var e *Error
	if !errors.As(err, &e) || e.Case() != InvalidArgument ||
		e.Error() != "invalid-argument: record of 3 bytes is shorter than uint64 (8 bytes)" {
		t.Errorf("Decode short = %v", err)
	}
}

func TestError(t *testing.T) {
	cases := map[string]types.Error{
		"not-found: no map x":                 types.MakeErrorNotFound("no map x"),
		"os error 1: Operation not permitted": types.MakeErrorOs(types.OsError{Errno: 1, Message: "Operation not permitted"}),
		"load-failed: rejected\nverifier log:\n0: R1 invalid": types.MakeErrorLoadFailed(
			types.LoadFailure{Message: "rejected", VerifierLog: "0: R1 invalid\n\n"}),
		"load-failed: rejected": types.MakeErrorLoadFailed(types.LoadFailure{Message: "rejected", VerifierLog: " \n"}),
	}
	for want, raw := range cases {
		err := error(&Error{raw: raw})
		if err.Error() != want {
			t.Errorf("Error() = %q; want %q", err.Error(), want)
		}
	}
	err := error(&Error{raw: types.MakeErrorPermissionDenied("policy")})
	if !errors.Is(err, ErrPermissionDenied) || errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is by case fails for %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Case() != "permission-denied" || e.Message() != "policy" {
		t.Errorf("errors.As: %#v", e)
	}
}

func TestBatch(t *testing.T) {
	raw := events.Batch{Data: []byte{1, 0, 0, 0, 2, 0, 0, 0, 9, 9, 3, 0, 0, 0}, Offsets: []uint32{0, 4, 10}}
	batch, err := newBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	var lengths []int
	for record := range batch.Records() {
		lengths = append(lengths, len(record))
	}
	if !slices.Equal(lengths, []int{4, 6, 4}) {
		t.Errorf("record lengths %v", lengths)
	}
	records, err := RecordsOf[uint32](batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Collect(records); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Errorf("RecordsOf = %v", got)
	}
	if _, err := RecordsOf[uint64](batch); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("RecordsOf[uint64] = %v; want invalid-argument", err)
	}
	if _, err := newBatch(events.Batch{Data: []byte{1}, Offsets: []uint32{0, 2}}); err == nil {
		t.Error("an offset past the data is accepted")
	}
}

func TestPerCPU(t *testing.T) {
	l, _ := layoutOf[uint32]()
	// Two CPUs, their values back to back as lookup-per-cpu and batch pages
	// hold them.
	packed := []byte{5, 0, 0, 0, 6, 0, 0, 0}
	values, err := decodePerCPU[uint32](l, 2, packed)
	if err != nil || !slices.Equal(values, []uint32{5, 6}) {
		t.Errorf("decodePerCPU = %v, %v", values, err)
	}
	if got := encodePerCPU(l, values); !slices.Equal(got, packed) {
		t.Errorf("encodePerCPU = %v", got)
	}
	for _, bad := range []struct {
		cpus   int
		packed []byte
	}{{3, make([]byte, 8)}, {2, make([]byte, 16)}, {0, nil}} {
		if _, err := decodePerCPU[uint32](l, bad.cpus, bad.packed); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%d bytes for %d CPUs: %v", len(bad.packed), bad.cpus, err)
		}
	}
	// A type that goes through encoding/binary.
	lb, _ := layoutOf[withBool]()
	flags := []withBool{{On: true, N: 1}, {N: 2}}
	packed = encodePerCPU(lb, flags)
	if !slices.Equal(packed, []byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0}) {
		t.Errorf("encodePerCPU(withBool) = %v", packed)
	}
	if back, err := decodePerCPU[withBool](lb, 2, packed); err != nil || !slices.Equal(back, flags) {
		t.Errorf("decodePerCPU(withBool) = %v, %v", back, err)
	}
}

func TestValuesPerElement(t *testing.T) {
	if n := valuesPerElement(MapInfo{PossibleCpus: 4, PerCpu: true}); n != 4 {
		t.Errorf("per-CPU: %d values", n)
	}
	// Per-CPU-ness is the info's flag, not the map type.
	if n := valuesPerElement(MapInfo{MapType: MapTypePerCPUHash, PossibleCpus: 4}); n != 1 {
		t.Errorf("not per-CPU: %d values", n)
	}
}

// fakeGlobals reads globals from a map, as an object would.
type fakeGlobals map[string][]byte

func (f fakeGlobals) GlobalBytes(name string) ([]byte, error) {
	if bytes, ok := f[name]; ok {
		return bytes, nil
	}
	return nil, notFound("no global %q", name)
}

func TestGlobal(t *testing.T) {
	// Global reads either stage of an object.
	var _ GlobalReader = (*OpenObject)(nil)
	var _ GlobalReader = (*Object)(nil)
	globals := fakeGlobals{"produced": {7, 0, 0, 0, 0, 0, 0, 0}}
	if v, err := Global[uint64](globals, "produced"); err != nil || v != 7 {
		t.Errorf("Global = %d, %v", v, err)
	}
	if _, err := Global[uint32](globals, "produced"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Global of the wrong size = %v", err)
	}
	if _, err := Global[uint64](globals, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Global of no global = %v", err)
	}
}

func TestOpenObjectConsumed(t *testing.T) {
	// What Load leaves behind (no handle) refuses every call with
	// invalid-state before calling the host.
	open := &OpenObject{}
	if err := open.usable(); !errors.Is(err, ErrInvalidState) {
		t.Errorf("usable = %v", err)
	}
	if open.Raw() != nil {
		t.Error("a loaded OpenObject has a handle")
	}
}

func TestInstant(t *testing.T) {
	if got := Instant(math.MaxUint64 - 5).Add(time.Hour); got != math.MaxUint64 {
		t.Errorf("Add saturates to %v", got)
	}
	if got := Instant(5).Add(-time.Hour); got != 0 {
		t.Errorf("Add(-1h) = %v", got)
	}
	if got := Instant(5).Add(math.MinInt64); got != 0 {
		t.Errorf("Add(MinInt64) = %v", got)
	}
	if got := Instant(100).Add(-40); got != 60 {
		t.Errorf("Add(-40) = %v", got)
	}
	if got := Instant(math.MaxUint64).Sub(0); got != math.MaxInt64 {
		t.Errorf("Sub saturates to %v", got)
	}
	if got := Instant(3).Sub(10); got != -7 {
		t.Errorf("Sub = %v", got)
	}
}
