package bpflet

import (
	"encoding/json"
	"unsafe"

	histogram "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_histogram"
	render "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_render"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Printer prints records by their BTF types through the render plug-in
// (bpflet:ebpf/render), as `bpflet run prog.bpf.o` prints them: an aligned
// table under a header, or JSON lines. bpflet assembles the program with a
// provider when it runs (its built-in one, or `--plug`); a program that
// never makes a Printer imports nothing of it.
type Printer struct {
	types *render.Types
}

// Printer hands the object's types to the render plug-in, once.
func (o *Object) Printer() *Printer {
	return &Printer{types: render.MakeTypes(o.BTFTypes())}
}

// RecordPrinter prints the records of one buffer.
type RecordPrinter struct {
	records *render.Records
}

// Records makes a printer of records of the struct (union, enum, typedef)
// typeName, as a table or (json) as JSON lines: not-found when the object
// has no such type.
func (p *Printer) Records(typeName string, json bool) (*RecordPrinter, error) {
	id := p.types.Find(typeName)
	if id.IsNone() {
		return nil, notFound("the object has no type %s", typeName)
	}
	format := render.Format_Table
	if json {
		format = render.Format_Json
	}
	records, err := result(hostCall(func() witTypes.Result[*render.Records, render.Error] {
		return p.types.Records(witTypes.Some(id.Some()), format)
	}))
	if err != nil {
		return nil, err
	}
	return &RecordPrinter{records: records}, nil
}

// Header is the table's header line, newline included ("" for JSON).
func (r *RecordPrinter) Header() string { return hostCall(r.records.Header) }

// Rows prints every record of batch, one line each; unixTime fills the
// table's TIME column. The batch goes to the plug-in as it is, copied once
// by the call.
func (r *RecordPrinter) Rows(batch *Batch, unixTime uint64) string {
	n := batch.Len()
	if n == 0 {
		return ""
	}
	spans := make([]render.Span, n)
	for i, offset := range batch.offsets {
		end := uint32(len(batch.data))
		if i+1 < n {
			end = batch.offsets[i+1]
		}
		spans[i] = render.Span{Offset: offset, Len: end - offset}
	}
	return r.rows(batch.data, spans, unixTime)
}

// maxGap is how far apart RowsOf still takes records to lie in one
// stretch of memory: a mapped ring puts an 8-byte header and at most 7
// bytes of padding between two records.
const maxGap = 16

// RowsOf prints records wherever they lie (in a ring a RingReader mapped,
// before Release; in the program's own memory), one line each. Records
// that lie in order in the memory of one open RingReader (its mapped
// ring, or the batch it polled), at most a ring header apart, go to the
// plug-in as the stretch of that memory that holds them, copied once by
// the call; others are packed first (a copy of their own).
func (r *RecordPrinter) RowsOf(records [][]byte, unixTime uint64) string {
	if len(records) == 0 {
		return ""
	}
	spans := make([]render.Span, len(records))
	for ring := range openRings {
		if stretch, ok := inPlace(ring.memory(), records, spans); ok {
			return r.rows(stretch, spans, unixTime)
		}
	}
	var packed []byte
	for i, record := range records {
		spans[i] = render.Span{Offset: uint32(len(packed)), Len: uint32(len(record))}
		packed = append(packed, record...)
	}
	return r.rows(packed, spans, unixTime)
}

// inPlace fills spans and returns the part of mem from the first record to
// the end of the last when every record lies inside mem, in order, at most
// maxGap bytes apart.
func inPlace(mem []byte, records [][]byte, spans []render.Span) ([]byte, bool) {
	if len(mem) == 0 {
		return nil, false
	}
	// Addresses compared as numbers only: the stretch is a slice of mem.
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	hi := lo + uintptr(len(mem))
	first := uintptr(unsafe.Pointer(unsafe.SliceData(records[0])))
	end := first
	for i, record := range records {
		at := uintptr(unsafe.Pointer(unsafe.SliceData(record)))
		if at < lo || at+uintptr(len(record)) > hi || at < end || at-end > maxGap {
			return nil, false
		}
		spans[i] = render.Span{Offset: uint32(at - first), Len: uint32(len(record))}
		end = at + uintptr(len(record))
	}
	return mem[first-lo : end-lo], true
}

func (r *RecordPrinter) rows(data []byte, spans []render.Span, unixTime uint64) string {
	return hostCall(func() string { return r.records.Rows(data, spans, unixTime) })
}

// Close drops the printer in the plug-in.
func (r *RecordPrinter) Close() { r.records.Drop() }

// Close drops the types in the plug-in.
func (p *Printer) Close() { p.types.Drop() }

// HistScale maps slot numbers to values: log2 (Step 0: slot i counts 2^i
// to 2^(i+1)-1), or linear (slot i counts Min + i*Step to
// Min + (i+1)*Step - 1).
type HistScale struct {
	Min, Step int64
}

func (s HistScale) wit() histogram.Scale {
	if s.Step == 0 {
		return histogram.MakeScaleLog2()
	}
	return histogram.MakeScaleLinear(histogram.LinearScale{Min: s.Min, Step: s.Step})
}

// HistogramText is the histogram of slots as BCC prints it ("" when every
// slot is empty), from the histogram plug-in (bpflet:ebpf/histogram).
func HistogramText(slots []uint64, scale HistScale, unit string) (string, error) {
	return result(hostCall(func() witTypes.Result[string, histogram.Error] {
		return histogram.Text(slots, scale.wit(), unit)
	}))
}

// HistogramJSON is the histogram as one JSON object, `{"map": mapName,
// "unit", "scale", "buckets", "total"}` (no "map" when mapName is ""), as
// `bpflet run --json` prints it.
func HistogramJSON(mapName string, slots []uint64, scale HistScale, unit string) (string, error) {
	var labels []histogram.Label
	if mapName != "" {
		quoted, err := json.Marshal(mapName)
		if err != nil {
			return "", err
		}
		labels = append(labels, histogram.Label{Name: "map", Json: string(quoted)})
	}
	return result(hostCall(func() witTypes.Result[string, histogram.Error] {
		return histogram.Json(labels, slots, scale.wit(), unit)
	}))
}
