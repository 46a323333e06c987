package expr

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// The JSON is written by hand rather than through encoding/json's
// reflection: a 100,000-term sum has a million numbers, and encoding/json
// re-validates the output of every MarshalJSON, which took seconds. The
// numbers come out exactly as encoding/json writes a float64 (a test
// compares the two), with null for NaN and the infinities.

// appendNum appends v as encoding/json encodes a float64, or null when v is
// not finite (JSON has no NaN or infinity).
func appendNum(b []byte, v float64) []byte {
	if !finite(v) {
		return append(b, "null"...)
	}
	// encoding/json's rule: the shortest representation, in exponent form
	// only for very small or very large magnitudes, with a one-digit
	// negative exponent written as e-7 rather than e-07.
	abs := math.Abs(v)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s as a JSON string. Names in a result are
// identifiers and literals, but escape properly all the same.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendNums(b []byte, vs []float64) []byte {
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendNum(b, v)
	}
	return append(b, ']')
}

var kindNames = [...]string{FromNode: "node", FromVar: "var", FromConst: "const"}

// appendStep appends one entry of "nodes".
func (r *Result) appendStep(b []byte, st *Step) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, st.ID)
	b = append(b, `,"op":`...)
	b = appendString(b, st.Op)
	b = append(b, `,"symbol":`...)
	b = appendString(b, st.Symbol)
	b = append(b, `,"col":`...)
	b = strconv.AppendInt(b, int64(st.Col), 10)
	b = append(b, `,"const":`...)
	b = strconv.AppendBool(b, st.Folded)
	b = append(b, `,"inputs":[`...)
	for i, in := range st.Inputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendString(b, kindNames[in.Kind])
		b = append(b, `,"name":`...)
		b = appendString(b, r.operandName(in))
		b = append(b, `,"value":`...)
		b = appendNum(b, in.Value)
		b = append(b, '}')
	}
	b = append(b, `],"value":`...)
	b = appendNum(b, st.Value)
	b = append(b, `,"local":`...)
	b = appendNums(b, st.Local)
	b = append(b, `,"upstream":`...)
	b = appendNum(b, st.Upstream)
	b = append(b, `,"grad":`...)
	b = appendNums(b, st.Grad)
	return append(b, '}')
}

// writeJSON streams the object the package doc describes to w.
func (r *Result) writeJSON(w *bufio.Writer) error {
	b := make([]byte, 0, 512)
	b = append(b, `{"value":`...)
	b = appendNum(b, r.Value)
	b = append(b, `,"grad":{`...)
	for i, v := range r.Vars {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v.Name)
		b = append(b, ':')
		b = appendNum(b, v.Grad)
	}
	b = append(b, `},"nodes":[`...)
	for k := range r.Steps {
		if k > 0 {
			b = append(b, ',')
		}
		b = r.appendStep(b, &r.Steps[k])
		if len(b) > 32<<10 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	b = append(b, "]}"...)
	_, err := w.Write(b)
	return err
}

// MarshalJSON encodes the result as the object the package doc describes,
// so json.Marshal(res) gives what WriteJSON prints (without the newline).
func (r *Result) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := r.writeJSON(w); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteJSON writes the result as one line of JSON: {"value": ...,
// "grad": {...}, "nodes": [...]}, described in the package doc.
func (r *Result) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := r.writeJSON(bw); err != nil {
		return err
	}
	if err := bw.WriteByte('\n'); err != nil {
		return err
	}
	return bw.Flush()
}
