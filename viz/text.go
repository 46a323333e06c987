package viz

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	bp "github.com/gobackprop/backprop"
)

// Colors of the lecture's circuit diagrams: values forward in green,
// gradients backward in red. Dark enough to read on white.
const (
	valueColor = "#137333"
	gradColor  = "#c5221f"
	labelColor = "#5f6368"
)

// num formats one number for a picture: four significant digits, no
// negative zero.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// tensorText prints a small tensor's values with nested brackets, a
// 0-d tensor as a bare number.
func tensorText(t *bp.Tensor) string {
	vals := t.Float64s()
	shape := t.Shape()
	if len(shape) == 0 {
		return num(vals[0])
	}
	var sb strings.Builder
	i := 0
	var axis func(d int)
	axis = func(d int) { // depth is the tensor's rank: a handful at most
		sb.WriteByte('[')
		for k := 0; k < shape[d]; k++ {
			if k > 0 {
				sb.WriteString(", ")
			}
			if d == len(shape)-1 {
				sb.WriteString(num(vals[i]))
				i++
			} else {
				axis(d + 1)
			}
		}
		sb.WriteByte(']')
	}
	axis(0)
	return sb.String()
}

// shapeText is "[2 3]" for a tensor of shape [2 3], empty for a float
// scalar (a scalar circuit needs no shapes on its wires); non-float dtypes
// are named.
func shapeText(t *bp.Tensor) string {
	s := ""
	if t.Dim() > 0 {
		s = fmt.Sprint(t.Shape())
	}
	if !t.DType().IsFloat() {
		s = joinNonEmpty(t.DType().String(), s)
	}
	return s
}

// xmlText escapes s for XML character data and attribute values, and drops
// what XML 1.0 cannot hold at all (most control characters, invalid UTF-8).
func xmlText(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			sb.WriteRune('\uFFFD')
		case r == '&':
			sb.WriteString("&amp;")
		case r == '<':
			sb.WriteString("&lt;")
		case r == '>':
			sb.WriteString("&gt;")
		case r == '"':
			sb.WriteString("&quot;")
		case r == '\'':
			sb.WriteString("&#39;")
		case r == '\t':
			sb.WriteByte(' ')
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			// not allowed in XML
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// lines splits a label at newlines, dropping a trailing empty line.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// helvetica holds the advance widths of printable ASCII in Helvetica, in
// thousandths of an em, from ' ' to '~'. Without font metrics at hand the
// layout estimates text width from them, with a margin for the wider
// fallback fonts (DejaVu Sans, say) a viewer may substitute.
var helvetica = [95]uint16{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
	278, 278, 584, 584, 584, 556, 1015, // : to @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
	278, 278, 278, 469, 556, 333, // [ to `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
	334, 260, 334, 584, // { to ~
}

// fontSlack covers fallback fonts wider than Helvetica.
const fontSlack = 1.12

// textWidth estimates the width in pixels of s set in a sans-serif font of
// the given size; bold text is about a tenth wider.
func textWidth(s string, size float64, bold bool) float64 {
	em := 0.0
	for _, r := range s {
		switch {
		case r >= ' ' && r <= '~':
			em += float64(helvetica[r-' ']) / 1000
		case r == '…':
			em += 1
		default:
			em += 0.6
		}
	}
	w := em * size * fontSlack
	if bold {
		w *= 1.1
	}
	return w
}
