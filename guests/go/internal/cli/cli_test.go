package cli

import (
	"encoding/hex"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// The expected values are what Rust (1.95, serde_json 1 with
// preserve_order) prints for the same input.

func TestParseSeconds(t *testing.T) {
	bad := []string{".", "1e", "e5", "1e400", "inf", "NaN", "-1", "1_000", "0x10", " 1", "1 ",
		"18446744073709551615", "18446744073709551616", "+-1", "--1", "", "+", "-", "infinity", "0x1p3"}
	for _, s := range bad {
		if _, _, ok := ParseSeconds(s); ok {
			t.Errorf("ParseSeconds(%q) ok, Rust rejects it", s)
		}
	}
	good := map[string]time.Duration{
		"0": 0, "-0": 0, "+1": time.Second, "1.": time.Second, ".5": 500 * time.Millisecond,
		"1e5": 100000 * time.Second, "1E-9": 1, "6e-10": 1, "5e-10": 1, "4e-10": 0, "1.5e-9": 1,
		"2.5e-9": 3, "-1e-400": 0, "3.0000000005": 3*time.Second + 1, "0.0000000025": 3,
		"1e+3": 1000 * time.Second, "9.2233720368547758e9": 1<<63 - 1, "9223372035.5": 9223372035*time.Second + 500*time.Millisecond,
		"1e19": 1<<63 - 1,
	}
	for s, want := range good {
		got, zero, ok := ParseSeconds(s)
		if !ok || got != want || zero != (want == 0) {
			t.Errorf("ParseSeconds(%q) = %v, %v, %v; want %v", s, got, zero, ok, want)
		}
	}
}

func TestParseUint32(t *testing.T) {
	good := map[string]uint32{"0": 0, "+0": 0, "4294967295": 4294967295, "007": 7}
	for s, want := range good {
		if got, ok := ParseUint32(s); !ok || got != want {
			t.Errorf("ParseUint32(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"-0", "+", "", "4294967296", "1_0", "++1", " 1", "１", "+-1", "0x1"} {
		if _, ok := ParseUint32(s); ok {
			t.Errorf("ParseUint32(%q) ok, Rust rejects it", s)
		}
	}
}

func TestQuote(t *testing.T) {
	cases := map[string]string{
		"plain": `"plain"`, "tab\there": `"tab\there"`, "nl\n": `"nl\n"`, "q\"uote'": `"q\"uote'"`,
		`back\slash`: `"back\\slash"`, "nul\x00": `"nul\0"`, "bell\x07": `"bell\u{7}"`,
		"del\x7f": `"del\u{7f}"`, "e\u0301": `"e\u{301}"`, "\u0301x": `"\u{301}x"`,
		"nbsp\u00a0": `"nbsp\u{a0}"`, "zwj\u200d": `"zwj\u{200d}"`, "ls\u2028": `"ls\u{2028}"`,
		"emoji😀": `"emoji😀"`, "soft\u00ad": `"soft\u{ad}"`, "\U0010ffff": `"\u{10ffff}"`,
		"\ue000": `"\u{e000}"`, "ok ünïcödé": `"ok ünïcödé"`, "\uff9e": `"\u{ff9e}"`,
	}
	for s, want := range cases {
		if got := Quote(s); got != want {
			t.Errorf("Quote(%q) = %s; want %s", s, got, want)
		}
	}
}

func TestCStringAndJSON(t *testing.T) {
	type record struct {
		Pid      uint32 `json:"pid"`
		Ppid     uint32 `json:"ppid"`
		Comm     string `json:"comm"`
		Filename string `json:"filename"`
	}
	const filename = "x\u2028<>&\x01\x1f\x7f\"\\\b\f\t"
	const tail = `,"filename":"x` + "\u2028" + `<>&\u0001\u001f` + "\x7f" + `\"\\\b\f\t"}` + "\n"
	cases := map[string]string{
		"616263": "abc", "fffe": "\ufffd\ufffd", "e282": "\ufffd", "e2827a": "\ufffdz", "e282ac": "€",
		"f09f98": "\ufffd", "f09f9880": "😀", "eda080": "\ufffd\ufffd\ufffd", "c0af": "\ufffd\ufffd",
		"f4908080": "\ufffd\ufffd\ufffd\ufffd", "e08080": "\ufffd\ufffd\ufffd", "61c3": "a\ufffd",
		"f180807a": "\ufffdz", "8080": "\ufffd\ufffd", "61620063": "ab",
	}
	for in, want := range cases {
		bytes, _ := hex.DecodeString(in)
		comm := CString(bytes)
		if comm != want {
			t.Errorf("CString(%s) = %q; want %q", in, comm, want)
		}
		line, err := MarshalJSONLine(record{1, 2, comm, filename})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"pid":1,"ppid":2,"comm":"` + want + `"` + tail; string(line) != want {
			t.Errorf("JSON of %s = %s; want %s", in, line, want)
		}
	}
	// An escaped backslash before "u2028" is no escape of U+2028.
	if got := string(unescapeLineSeparators([]byte(`"\\u2028\u2029"`))); got != `"\\u2028`+"\u2029\"" {
		t.Errorf("unescapeLineSeparators = %s", got)
	}
}

// roundNanos against exact rational arithmetic, over every binary exponent
// a duration can have.
func TestRoundNanos(t *testing.T) {
	random := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		secs := math.Ldexp(1+random.Float64(), random.IntN(100)-70)
		if random.IntN(4) == 0 {
			// Exact ties: a whole number of half nanoseconds.
			secs = float64(random.Uint64N(1<<40)) / 2e9
		}
		if secs >= 1<<64 {
			continue
		}
		exact := new(big.Rat).Mul(new(big.Rat).SetFloat64(secs), big.NewRat(1e9, 1))
		quotient, remainder := new(big.Int).QuoRem(exact.Num(), exact.Denom(), new(big.Int))
		switch c := new(big.Int).Lsh(remainder, 1).Cmp(exact.Denom()); {
		case c > 0, c == 0 && quotient.Bit(0) == 1:
			quotient.Add(quotient, big.NewInt(1))
		}
		got, saturated := roundNanos(secs)
		if quotient.IsUint64() != !saturated || !saturated && got != quotient.Uint64() {
			t.Fatalf("roundNanos(%v) = %v, %v; want %v", secs, got, saturated, quotient)
		}
	}
}
