// Package cli holds what the example programs share with their Rust twins
// (guests/rust/*) so that both accept the same arguments and print the same
// bytes: Rust's number syntax, its Debug quoting of strings in messages and
// its lossy UTF-8 decoding of C strings.
package cli

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ParseUint32 parses s as Rust's u32::from_str does: decimal digits with an
// optional leading '+'.
func ParseUint32(s string) (uint32, bool) {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || digits[0] < '0' || digits[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	return uint32(n), err == nil
}

// ParseSeconds parses s as Rust's f64::from_str followed by
// Duration::try_from_secs_f64 does: a decimal number of seconds (no hex, no
// underscores), not negative (-0 is fine), below 2^64 seconds, rounded to
// the nearest nanosecond, ties to even. Durations past time.Duration's 292
// years are held at its maximum; zero tells whether the value rounded to 0.
func ParseSeconds(s string) (d time.Duration, zero bool, ok bool) {
	if !isRustDecimal(s) {
		return 0, false, false
	}
	// Syntax is checked: the only error left is range, where Go and Rust
	// both round to ±Inf or ±0.
	secs, _ := strconv.ParseFloat(s, 64)
	if math.IsInf(secs, 0) || secs < 0 || secs >= 1<<64 {
		return 0, false, false
	}
	nanos, saturated := roundNanos(secs)
	if saturated || nanos > math.MaxInt64 {
		return math.MaxInt64, false, true
	}
	return time.Duration(nanos), nanos == 0, true
}

// roundNanos is secs (finite, not negative) in nanoseconds, rounded to the
// nearest, ties to even, from the exact binary value as Rust does;
// saturated when that is 2^64 or more.
func roundNanos(secs float64) (nanos uint64, saturated bool) {
	// secs = mantissa × 2^exp exactly.
	raw := math.Float64bits(secs)
	mantissa, exp := raw&(1<<52-1), int(raw>>52&0x7ff)
	if exp == 0 {
		exp = -1074
	} else {
		mantissa |= 1 << 52
		exp -= 1075
	}
	// v = mantissa × 10^9 < 2^83, as hi:lo.
	hi, lo := bits.Mul64(mantissa, 1e9)
	if exp >= 0 {
		if hi != 0 || lo > math.MaxUint64>>exp {
			return 0, true
		}
		return lo << exp, false
	}
	shift := -exp
	if shift >= 128 {
		return 0, false // v < 2^83 is less than half of 2^shift
	}
	// nanos = v >> shift, plus one when the bits shifted out are more
	// than half, or exactly half and nanos is odd.
	var qhi, qlo uint64
	if shift < 64 {
		qhi, qlo = hi>>shift, lo>>shift|hi<<(64-shift)
	} else {
		qlo = hi >> (shift - 64)
	}
	if qhi != 0 {
		return 0, true
	}
	half := bit128(hi, lo, shift-1)
	sticky := lowBits128(hi, lo, shift-1)
	if half && (sticky || qlo&1 == 1) {
		qlo++
		if qlo == 0 {
			return 0, true
		}
	}
	return qlo, false
}

// bit128 is bit i of hi:lo.
func bit128(hi, lo uint64, i int) bool {
	if i >= 64 {
		return hi>>(i-64)&1 == 1
	}
	return lo>>i&1 == 1
}

// lowBits128 reports whether any of the i lowest bits of hi:lo is set.
func lowBits128(hi, lo uint64, i int) bool {
	switch {
	case i == 0:
		return false
	case i < 64:
		return lo&(1<<i-1) != 0
	default:
		return lo != 0 || hi&(1<<(i-64)-1) != 0
	}
}

// isRustDecimal reports whether s has the syntax of a finite number for
// Rust's f64::from_str: an optional sign, digits with an optional '.' (a
// digit on at least one side) and an optional exponent. ("inf" and "nan"
// parse too, but are no duration.)
func isRustDecimal(s string) bool {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		s = s[n:]
		return n
	}
	mantissa := digits()
	if len(s) > 0 && s[0] == '.' {
		s = s[1:]
		mantissa += digits()
	}
	if mantissa == 0 {
		return false
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if digits() == 0 {
			return false
		}
	}
	return s == ""
}

// Quote quotes s as Rust's {:?} does: backslash escapes for \t \r \n \\ \"
// and NUL, \u{...} for characters that are not printable or that extend a
// grapheme.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case 0:
			b.WriteString(`\0`)
		default:
			if unicode.IsPrint(r) && !unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend) {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, `\u{%x}`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// CString is the text of a NUL-terminated C array, decoded as Rust's
// String::from_utf8_lossy does: each maximal ill-formed subsequence (a
// stray byte, or the valid start of a truncated character) becomes one
// U+FFFD.
func CString(bytes []byte) string {
	if end := slices.Index(bytes, 0); end >= 0 {
		bytes = bytes[:end]
	}
	if utf8.Valid(bytes) {
		return string(bytes)
	}
	var b strings.Builder
	for len(bytes) > 0 {
		if r, size := utf8.DecodeRune(bytes); r != utf8.RuneError || size > 1 {
			b.Write(bytes[:size])
			bytes = bytes[size:]
			continue
		}
		b.WriteRune(utf8.RuneError)
		bytes = bytes[validPrefix(bytes):]
	}
	return b.String()
}

// validPrefix is the length of the longest prefix of bytes that starts a
// well-formed UTF-8 character (Unicode table 3-7) without completing it; at
// least 1, so that a stray byte is consumed alone.
func validPrefix(bytes []byte) int {
	lead := bytes[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // range of the second byte
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		need = 1
	case lead == 0xE0:
		need, lo = 2, 0xA0
	case lead == 0xED:
		need, hi = 2, 0x9F
	case lead >= 0xE1 && lead <= 0xEF:
		need = 2
	case lead == 0xF0:
		need, lo = 3, 0x90
	case lead == 0xF4:
		need, hi = 3, 0x8F
	case lead >= 0xF1 && lead <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(bytes); n++ {
		b := bytes[n]
		if n == 1 && (b < lo || b > hi) || n > 1 && (b < 0x80 || b > 0xBF) {
			break
		}
	}
	return n
}
