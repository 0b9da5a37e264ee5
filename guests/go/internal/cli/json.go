package cli

import (
	"bytes"
	"encoding/json"
)

// MarshalJSONLine encodes v on one line, newline included, as serde_json
// does for the same value: encoding/json with no HTML escaping (serde_json
// leaves <, > and & alone), and with U+2028 and U+2029 as they are, where
// encoding/json always writes \u2028 and \u2029. Struct fields come out in
// their declaration order, like serde_json's preserve_order maps. Strings
// must be valid UTF-8 (see CString): encoding/json would turn each stray
// byte into its own U+FFFD.
func MarshalJSONLine(v any) ([]byte, error) {
	var line bytes.Buffer
	encoder := json.NewEncoder(&line)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(v); err != nil {
		return nil, err
	}
	return unescapeLineSeparators(line.Bytes()), nil
}

// unescapeLineSeparators replaces the escapes \u2028 and \u2029 of a JSON
// text with the characters. It walks escape by escape, so that an escaped
// backslash followed by "u2028" stays as it is.
func unescapeLineSeparators(text []byte) []byte {
	if !bytes.Contains(text, []byte(`\u202`)) {
		return text
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		if text[i] != '\\' || i+1 == len(text) {
			out = append(out, text[i])
			continue
		}
		escape := text[i : i+2]
		if text[i+1] == 'u' && i+6 <= len(text) {
			escape = text[i : i+6]
		}
		switch string(escape) {
		case `\u2028`:
			out = append(out, "\u2028"...)
		case `\u2029`:
			out = append(out, "\u2029"...)
		default:
			out = append(out, escape...)
		}
		i += len(escape) - 1
	}
	return out
}
