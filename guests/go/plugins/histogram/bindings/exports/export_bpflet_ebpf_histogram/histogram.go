// Package export_bpflet_ebpf_histogram implements the component's
// bpflet:ebpf/histogram export; the generated bindings/exports/wit_exports
// calls Text and Json.
//
// The garbage collector runs only at the end of each call (collect): the
// arguments of a call come in through cabi_realloc, where a collection
// under way would read the wall clock, which the component model forbids
// there (the plug-in would trap with "cannot leave component instance").
//
// Bucket bounds are computed in math/big: a log2 histogram's slot i spans
// 2^i to 2^(i+1)-1 up to slot 126 (past 64 bits), a linear one's
// min + i*step may pass int64; the providers in Rust and C use 128-bit
// integers and print the same numbers.
package export_bpflet_ebpf_histogram

import (
	"bytes"
	"math"
	"math/big"
	"math/bits"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"bpflet.dev/guests/go/internal/cli"
	histogram "bpflet.dev/guests/go/plugins/histogram/bindings/imports/bpflet_ebpf_histogram"
	types "bpflet.dev/guests/go/plugins/histogram/bindings/imports/bpflet_ebpf_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// stars is the width of the bar.
const stars = 40

type result = witTypes.Result[string, histogram.Error]

func fail(err histogram.Error) result { return witTypes.Err[string, histogram.Error](collect(err)) }
func ok(text string) result           { return witTypes.Ok[string, histogram.Error](collect(text)) }

func init() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(math.MaxInt64)
}

// collect runs the garbage collector, inside the call (where it may read
// the clock) and not in the next call's cabi_realloc; it returns v.
func collect[T any](v T) T {
	runtime.GC()
	return v
}

// check refuses a linear scale whose step is not positive.
func check(scale histogram.Scale) (histogram.Error, bool) {
	if scale.Tag() == histogram.Scale_Linear && scale.Linear().Step <= 0 {
		message := "linear scale with step " + strconv.FormatInt(scale.Linear().Step, 10) +
			": the step must be greater than 0"
		return types.MakeErrorInvalidArgument(message), false
	}
	return histogram.Error{}, true
}

// filled is the first and last slot that count something.
func filled(slots []uint64) (first, last int, any bool) {
	first, last = -1, -1
	for i, count := range slots {
		if count != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last, first >= 0
}

// bucket is the range of values slot i counts.
func bucket(scale histogram.Scale, i int) (low, high *big.Int) {
	one := big.NewInt(1)
	if scale.Tag() == histogram.Scale_Log2 {
		if i == 0 {
			return big.NewInt(0), one
		}
		// Slots past 126 print as 126 (2^127 - 1 is the most 128 signed bits hold).
		shift := uint(min(i, 126))
		low = new(big.Int).Lsh(one, shift)
		high = new(big.Int).Sub(new(big.Int).Lsh(one, shift+1), one)
		return low, high
	}
	linear := scale.Linear()
	step := big.NewInt(linear.Step)
	low = new(big.Int).Add(big.NewInt(linear.Min), new(big.Int).Mul(big.NewInt(int64(i)), step))
	high = new(big.Int).Sub(new(big.Int).Add(low, step), one)
	return low, high
}

// pad writes text and spaces up to width characters, on the right or the left.
func pad(out *strings.Builder, text string, width int, right bool) {
	fill := strings.Repeat(" ", max(0, width-utf8.RuneCountInString(text)))
	if right {
		out.WriteString(fill)
		out.WriteString(text)
	} else {
		out.WriteString(text)
		out.WriteString(fill)
	}
}

// bar is count's share of max in width stars, padded to width.
func bar(out *strings.Builder, count, max uint64, width uint64) {
	n := uint64(0)
	if max != 0 {
		// count <= max: the quotient fits and Div64 cannot panic.
		hi, lo := bits.Mul64(count, width)
		n, _ = bits.Div64(hi, lo, max)
	}
	out.WriteString(strings.Repeat("*", int(n)))
	out.WriteString(strings.Repeat(" ", int(width-n)))
}

// Text is the histogram as BCC prints it: nothing when every slot is empty.
func Text(slots []uint64, scale histogram.Scale, unit string) result {
	if err, good := check(scale); !good {
		return fail(err)
	}
	first, last, any := filled(slots)
	if !any {
		return ok("")
	}
	var most uint64
	for _, count := range slots[first : last+1] {
		most = max(most, count)
	}
	var out strings.Builder
	if scale.Tag() == histogram.Scale_Log2 {
		// Values past 2^33 need wider columns (and a shorter bar), as in BCC.
		indent, label, width, barWidth := 5, 19, 10, uint64(stars)
		if last > 32 {
			indent, label, width, barWidth = 15, 29, 20, stars/2
		}
		out.WriteString(strings.Repeat(" ", indent))
		pad(&out, unit, label, false)
		out.WriteString(" : count     distribution\n")
		for i := first; i <= last; i++ {
			low, high := bucket(scale, i)
			pad(&out, low.String(), width, true)
			out.WriteString(" -> ")
			pad(&out, high.String(), width, false)
			out.WriteString(" : ")
			pad(&out, strconv.FormatUint(slots[i], 10), 8, false)
			out.WriteString(" |")
			bar(&out, slots[i], most, barWidth)
			out.WriteString("|\n")
		}
	} else {
		out.WriteString("     ")
		pad(&out, unit, 13, false)
		out.WriteString(" : count     distribution\n")
		for i := first; i <= last; i++ {
			low, _ := bucket(scale, i)
			out.WriteString("        ")
			pad(&out, low.String(), 10, false)
			out.WriteString(" : ")
			pad(&out, strconv.FormatUint(slots[i], 10), 8, false)
			out.WriteString(" |")
			bar(&out, slots[i], most, stars)
			out.WriteString("|\n")
		}
	}
	return ok(out.String())
}

// jsonString writes s as a JSON string, as serde_json writes it (WIT
// strings are valid UTF-8, so this cannot fail).
func jsonString(out *strings.Builder, s string) {
	line, _ := cli.MarshalJSONLine(s)
	out.Write(bytes.TrimSuffix(line, []byte("\n")))
}

// Json is the histogram as one JSON object: the labels (their values JSON
// text as the caller gives them), unit, scale, the filled range of buckets
// and the total of every slot (saturating).
func Json(labels []histogram.Label, slots []uint64, scale histogram.Scale, unit string) result {
	if err, good := check(scale); !good {
		return fail(err)
	}
	var out strings.Builder
	out.WriteByte('{')
	for _, label := range labels {
		jsonString(&out, label.Name)
		out.WriteByte(':')
		out.WriteString(label.Json)
		out.WriteByte(',')
	}
	out.WriteString(`"unit":`)
	jsonString(&out, unit)
	if scale.Tag() == histogram.Scale_Log2 {
		out.WriteString(`,"scale":"log2"`)
	} else {
		linear := scale.Linear()
		out.WriteString(`,"scale":{"linear":{"min":` + strconv.FormatInt(linear.Min, 10) +
			`,"step":` + strconv.FormatInt(linear.Step, 10) + `}}`)
	}
	out.WriteString(`,"buckets":[`)
	var total uint64
	for _, count := range slots {
		sum, carry := bits.Add64(total, count, 0)
		if carry != 0 {
			sum = ^uint64(0)
		}
		total = sum
	}
	if first, last, any := filled(slots); any {
		for i := first; i <= last; i++ {
			low, high := bucket(scale, i)
			if i > first {
				out.WriteByte(',')
			}
			out.WriteString(`{"low":` + low.String() + `,"high":` + high.String() +
				`,"count":` + strconv.FormatUint(slots[i], 10) + `}`)
		}
	}
	out.WriteString(`],"total":` + strconv.FormatUint(total, 10) + `}`)
	return ok(out.String())
}
