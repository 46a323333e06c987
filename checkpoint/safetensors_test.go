package checkpoint_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// file assembles a safetensors file from a header and data, as the format
// specification describes it: 8-byte little-endian header length, header,
// data.
func file(header string, data ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

func readBytes(b []byte) (map[string]*bp.Tensor, map[string]string, error) {
	return checkpoint.Read(bytes.NewReader(b), int64(len(b)))
}

func writeBytes(t *testing.T, tensors map[string]*bp.Tensor, md map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, tensors, md); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sameTensor compares dtype, shape and the bits of every element, so NaN
// payloads and signed zeros count.
func sameTensor(a, b *bp.Tensor) bool {
	if a.DType() != b.DType() || !slices.Equal(a.Shape(), b.Shape()) {
		return false
	}
	a, b = a.Contiguous(), b.Contiguous()
	switch a.DType() {
	case bp.Float32:
		x, y := a.F32(), b.F32()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
	case bp.Float64:
		x, y := a.F64(), b.F64()
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
	default:
		return slices.Equal(a.I64(), b.I64())
	}
	return true
}

// A file put together by hand from the specification: tensors listed in
// the header in another order than their data, a header without padding,
// and every dtype the package reads.
func TestReadHandBuilt(t *testing.T) {
	header := `{"half":{"dtype":"F16","shape":[6],"data_offsets":[40,52]},` +
		`"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"__metadata__":{"who":"hand","empty":""},` +
		`"scalar":{"dtype":"I64","shape":[],"data_offsets":[8,16]},` +
		`"d":{"dtype":"F64","shape":[1,1],"data_offsets":[16,24]},` +
		`"i32":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},` +
		`"u32":{"dtype":"U32","shape":[1],"data_offsets":[32,36]},` +
		`"bf":{"dtype":"BF16","shape":[2],"data_offsets":[36,40]},` +
		`"i16":{"dtype":"I16","shape":[1],"data_offsets":[52,54]},` +
		`"u16":{"dtype":"U16","shape":[1],"data_offsets":[54,56]},` +
		`"u64":{"dtype":"U64","shape":[1],"data_offsets":[56,64]},` +
		`"u8":{"dtype":"U8","shape":[2],"data_offsets":[64,66]},` +
		`"i8":{"dtype":"I8","shape":[2],"data_offsets":[66,68]},` +
		`"bool":{"dtype":"BOOL","shape":[3],"data_offsets":[68,71]},` +
		`"none":{"dtype":"F32","shape":[0,3],"data_offsets":[71,71]}}`
	b := file(header,
		[]byte{0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0},                // f: 1.5, -2
		[]byte{0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // scalar: -7
		[]byte{0, 0, 0, 0, 0, 0, 0x10, 0x40},                   // d: 4
		[]byte{0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0},             // i32: -1, 5
		[]byte{0xff, 0xff, 0xff, 0xff},                         // u32: 4294967295
		[]byte{0x80, 0xbf, 0x49, 0x40},                         // bf16: -1, 3.140625
		// f16: 1, -2, smallest subnormal 2^-24, +Inf, 65504, -0
		[]byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0xff, 0x7b, 0x00, 0x80},
		[]byte{0x00, 0x80}, // i16: -32768
		[]byte{0xff, 0xff}, // u16: 65535
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // u64: MaxInt64
		[]byte{0, 255},    // u8
		[]byte{0x80, 127}, // i8
		[]byte{0, 1, 2},   // bool
	)
	ts, md, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(md) != 2 || md["who"] != "hand" || md["empty"] != "" {
		t.Errorf("metadata = %v", md)
	}
	want := map[string]*bp.Tensor{
		"f":      bp.FromFloat32s([]float32{1.5, -2}),
		"scalar": bp.Int64.Scalar(-7),
		"d":      bp.FromFloat64s([]float64{4}, 1, 1),
		"i32":    bp.FromInt64s([]int64{-1, 5}),
		"u32":    bp.FromInt64s([]int64{4294967295}),
		"bf":     bp.FromFloat32s([]float32{-1, 3.140625}),
		"half":   bp.FromFloat32s([]float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1)), 65504, float32(math.Copysign(0, -1))}),
		"i16":    bp.FromInt64s([]int64{-32768}),
		"u16":    bp.FromInt64s([]int64{65535}),
		"u64":    bp.FromInt64s([]int64{math.MaxInt64}),
		"u8":     bp.FromInt64s([]int64{0, 255}),
		"i8":     bp.FromInt64s([]int64{-128, 127}),
		"bool":   bp.FromInt64s([]int64{0, 1, 1}),
		"none":   bp.Zeros(0, 3),
	}
	if len(ts) != len(want) {
		t.Errorf("got %d tensors, want %d", len(ts), len(want))
	}
	for name, w := range want {
		if g := ts[name]; g == nil || !sameTensor(g, w) {
			t.Errorf("%s = %v, want %v", name, g, w)
		}
	}
}

func TestHalfNaN(t *testing.T) {
	b := file(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, []byte{0x01, 0x7e, 0x00, 0xfc})
	ts, _, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	v := ts["h"].F32()
	if !math.IsNaN(float64(v[0])) || !math.IsInf(float64(v[1]), -1) {
		t.Errorf("got %v, want [NaN -Inf]", v)
	}
	if got := math.Float32bits(v[0]); got != 0x7fc02000 {
		t.Errorf("NaN payload: bits %#x, want %#x", got, 0x7fc02000)
	}
}

// Every binary16 value widens to the float32 that the hardware (here,
// float64 arithmetic on the decoded fields) says it is.
func TestHalfAllValues(t *testing.T) {
	data := make([]byte, 0, 2<<16)
	for h := range 1 << 16 {
		data = binary.LittleEndian.AppendUint16(data, uint16(h))
	}
	ts, _, err := readBytes(file(`{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}`, data))
	if err != nil {
		t.Fatal(err)
	}
	got := ts["h"].F32()
	for h := range 1 << 16 {
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		exp, mant := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(int(sign))
		case exp == 0x1f:
			if !math.IsNaN(float64(got[h])) {
				t.Fatalf("%#04x: got %v, want NaN", h, got[h])
			}
			continue
		case exp == 0:
			want = sign * math.Ldexp(float64(mant), -24)
		default:
			want = sign * math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		if float64(got[h]) != want || math.Signbit(float64(got[h])) != (sign < 0) {
			t.Fatalf("%#04x: got %v, want %v", h, got[h], want)
		}
	}
}

// The bytes Write produces for a small input, spelled out from the format:
// metadata first (the checksums among it, sorted with the caller's keys),
// I64 before F64 before F32, compact JSON, the header padded with spaces
// to a multiple of 8, then the raw little-endian data.
func TestWriteExactBytes(t *testing.T) {
	tensors := map[string]*bp.Tensor{
		"w": bp.FromFloat32s([]float32{1, 2, 3, 4}, 2, 2),
		"b": bp.FromFloat64s([]float64{-0.5}),
		"i": bp.Int64.Scalar(3),
	}
	got := writeBytes(t, tensors, map[string]string{"epoch": "1"})
	di := []byte{3, 0, 0, 0, 0, 0, 0, 0}
	db := []byte{0, 0, 0, 0, 0, 0, 0xe0, 0xbf}
	dw := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40}
	header := `{"__metadata__":{` +
		`"backprop.crc32c.b":"` + crc32cHex(db) + `",` +
		`"backprop.crc32c.i":"` + crc32cHex(di) + `",` +
		`"backprop.crc32c.w":"` + crc32cHex(dw) + `",` +
		`"epoch":"1"},` +
		`"i":{"dtype":"I64","shape":[],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},` +
		`"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}` +
		"  " // 286 bytes of JSON, padded to 288
	want := file(header, di, db, dw)
	if !bytes.Equal(got, want) {
		t.Errorf("Write:\n got %q\nwant %q", got, want)
	}

	// The same tensors saved to a file give the same bytes.
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := checkpoint.Save(path, tensors, map[string]string{"epoch": "1"}); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, want) {
		t.Errorf("Save wrote %q, want %q", onDisk, want)
	}
}

// Outputs of the reference implementation, as its documentation and tests
// give them: an F32 tensor whose header needs no padding, and empty files.
// Write adds one thing, the tensor's checksum in __metadata__, which the
// reference writes first as it would any metadata, and pads after.
func TestWriteMatchesReference(t *testing.T) {
	cases := []struct {
		tensors map[string]*bp.Tensor
		md      map[string]string
		want    []byte
	}{
		{
			map[string]*bp.Tensor{"attn.0": bp.FromFloat32s([]float32{0, 1, 2, 3, 4, 5}, 1, 2, 3)},
			nil,
			file(`{"__metadata__":{"backprop.crc32c.attn.0":"78743a5d"},"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}   `,
				[]byte{0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40}),
		},
		{nil, nil, file("{}      ")},
		{nil, map[string]string{"framework": "pt"}, file(`{"__metadata__":{"framework":"pt"}}     `)},
	}
	for _, c := range cases {
		if got := writeBytes(t, c.tensors, c.md); !bytes.Equal(got, c.want) {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestWriteEscapes(t *testing.T) {
	name := "a\"b\\c\n\x01<é>"
	got := writeBytes(t, map[string]*bp.Tensor{name: bp.Int64.Scalar(1)}, nil)
	if want := `"a\"b\\c\n\u0001<é>"`; !bytes.Contains(got, []byte(want)) {
		t.Errorf("header %q does not contain %q", got, want)
	}
	ts, _, err := readBytes(got)
	if err != nil || ts[name] == nil {
		t.Errorf("round trip of name %q: %v, %v", name, ts, err)
	}
}

func TestRoundTrip(t *testing.T) {
	g := bp.NewRNG(1)
	base := g.NormalOf(bp.Float64, 0, 1, 4, 3)
	tensors := map[string]*bp.Tensor{
		"f32":        g.Normal(0, 1, 3, 5),
		"f32.scalar": bp.Scalar(-0.25),
		"f32.empty":  bp.Zeros(0),
		"f32.empty3": bp.Zeros(2, 0, 4),
		"f32.special": bp.FromFloat32s([]float32{
			float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
			float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32,
		}),
		"f64":         g.NormalOf(bp.Float64, 0, 1, 2, 3, 4),
		"f64.scalar":  bp.Float64.Scalar(math.Pi),
		"f64.empty":   bp.Float64.Zeros(0, 0),
		"f64.special": bp.FromFloat64s([]float64{math.NaN(), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64}),
		"i64":         bp.FromInt64s([]int64{math.MinInt64, -1, 0, 1, math.MaxInt64, 1<<53 + 1}),
		"i64.scalar":  bp.Int64.Scalar(42),
		"i64.empty":   bp.Int64.Zeros(3, 0),
		// Non-contiguous: a transposed view and an every-other-element view.
		"f64.transposed": base.AsStrided([]int{3, 4}, []int{1, 3}, 0),
		"f32.strided":    g.Normal(0, 1, 10).AsStrided([]int{5}, []int{2}, 1),
		"i64.transposed": bp.FromInt64s([]int64{1, 2, 3, 4, 5, 6}, 2, 3).AsStrided([]int{3, 2}, []int{1, 3}, 0),
		// A gradient-tracking parameter is saved by value.
		"param": g.Normal(0, 1, 2, 2).SetRequiresGrad(true),
	}
	md := map[string]string{"a": "1", "b": "two", "": "empty key", "uni": "π≈3.14"}
	b := writeBytes(t, tensors, md)
	got, gotMD, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tensors) {
		t.Errorf("%d tensors back, want %d", len(got), len(tensors))
	}
	for name, w := range tensors {
		g := got[name]
		if g == nil || !sameTensor(g, w) {
			t.Errorf("%s: got %v, want %v", name, g, w)
			continue
		}
		if g.RequiresGrad() {
			t.Errorf("%s: loaded tensor requires grad", name)
		}
	}
	if len(gotMD) != len(md) {
		t.Errorf("metadata %v, want %v", gotMD, md)
	}
	for k, v := range md {
		if gotMD[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, gotMD[k], v)
		}
	}

	// Writing is deterministic, and what was read writes the same bytes.
	if again := writeBytes(t, got, gotMD); !bytes.Equal(again, b) {
		t.Error("writing the loaded tensors gave different bytes")
	}

	// Every tensor's data is aligned to its element size within the file.
	h, err := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if h.DataStart%8 != 0 {
		t.Errorf("data starts at %d, not a multiple of 8", h.DataStart)
	}
	sizes := map[string]int64{"F32": 4, "F64": 8, "I64": 8}
	for _, ti := range h.Tensors {
		if ti.Begin%sizes[ti.DType] != 0 {
			t.Errorf("%s (%s) starts at %d, misaligned", ti.Name, ti.DType, ti.Begin)
		}
	}
}

func TestReadNoMetadata(t *testing.T) {
	for _, header := range []string{`{}`, `{"__metadata__":null}`, " {  } \t\n"} {
		ts, md, err := readBytes(file(header))
		if err != nil || len(ts) != 0 || md != nil {
			t.Errorf("%q: %v %v %v", header, ts, md, err)
		}
	}
	ts, md, err := readBytes(file(`{"__metadata__":{}}`))
	if err != nil || len(ts) != 0 || md == nil || len(md) != 0 {
		t.Errorf("empty metadata object: %v %v %v", ts, md, err)
	}
}

// Unknown keys inside a tensor's entry are ignored, as the reference
// ignores them.
func TestReadIgnoresExtraKeys(t *testing.T) {
	b := file(`{"x":{"note":[1,{"a":2}],"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{9})
	ts, _, err := readBytes(b)
	if err != nil || ts["x"].Ints()[0] != 9 {
		t.Errorf("%v %v", ts, err)
	}
}

func TestReadErrors(t *testing.T) {
	f4 := []byte{0, 0, 0x80, 0x3f}
	hdr := func(n uint64, rest ...byte) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
	}
	cases := []struct {
		name   string
		file   []byte
		tensor string // the tensor the error must name, if any
		want   string
	}{
		{"empty file", nil, "", "too short"},
		{"short length", []byte{1, 0, 0}, "", "too short"},
		{"length past end", hdr(100, '{', '}'), "", "runs past the end"},
		{"absurd length", hdr(1 << 62), "", "over the limit"},
		{"length just over limit", hdr(checkpoint.MaxHeaderSize + 1), "", "over the limit"},
		{"huge length", hdr(math.MaxUint64), "", "over the limit"},
		{"a text file", []byte("hello world, not a checkpoint\n"), "", "not a safetensors file: it should begin with an 8-byte header length and a JSON header, and byte 8 is 'r'"},
		{"a PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "", "not a safetensors file"},
		{"empty header", file(""), "", "not a JSON object"},
		{"not an object", file(`[1,2]`), "", "not a JSON object"},
		{"not JSON", file(`{"a":`), "", "not valid JSON"},
		{"bad JSON", file(`{"a" 1}`), "", "not valid JSON"},
		{"trailing garbage", file(`{}x`), "", "data after its JSON object"},
		{"second object", file(`{} {}`), "", "data after its JSON object"},
		{"invalid UTF-8", file("{\"\xff\":1}"), "", "not valid UTF-8"},
		{"duplicate tensor", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f4, f4), "", `key "a" appears twice`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`), "", "appears twice"},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`), "", `key "k" appears twice`},
		{"duplicate entry key", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "a", `"dtype" appears twice`},
		{"metadata not object", file(`{"__metadata__":[1]}`), "", "not an object of strings"},
		{"metadata number", file(`{"__metadata__":{"k":1}}`), "", `value of "k" is not a string`},
		{"metadata null value", file(`{"__metadata__":{"k":null}}`), "", `value of "k" is not a string`},
		{"entry not object", file(`{"a":3}`), "a", "not an object"},
		{"no dtype", file(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f4), "a", "no dtype"},
		{"no shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f4), "a", "no shape"},
		{"no offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, f4), "a", "no data_offsets"},
		{"dtype not string", file(`{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, f4), "a", "not a string"},
		{"unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}`, f4), "a", `unknown dtype "F128"`},
		{"lowercase dtype", file(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, f4), "a", `unknown dtype "f32"`},
		{"unsupported dtype", file(`{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), "a", "F8_E4M3 is not supported"},
		{"shape null", file(`{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, f4), "a", "not an array"},
		{"shape string", file(`{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, f4), "a", "not an array"},
		{"shape fraction", file(`{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, f4), "a", "not a 64-bit integer"},
		{"shape exponent", file(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, f4), "a", "not a 64-bit integer"},
		{"shape null element", file(`{"a":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}`, f4), "a", "not a 64-bit integer"},
		{"shape quoted element", file(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, f4), "a", "not a 64-bit integer"},
		{"shape too big", file(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f4), "a", "not a 64-bit integer"},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f4), "a", "negative dimension"},
		{"negative dims", file(`{"a":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,4]}}`, f4), "a", "negative dimension"},
		{"numel overflow", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`), "a", "more elements than fit"},
		{"bytes overflow", file(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`), "a", "too large"},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f4), "a", "two offsets"},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f4), "a", "two offsets"},
		{"negative offset", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f4), "a", "out of range"},
		{"reversed offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, f4), "a", "out of range"},
		{"offset past end", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f4), "a", "out of range"},
		{"huge offsets", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}`, f4), "a", "out of range"},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f4), "a", "shape [2] of F32 needs 8"},
		{"dtype size mismatch", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}`, f4), "a", "needs 8"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f4, f4), "b", `overlap those of tensor "a"`},
		{"same range", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "b", "overlap"},
		{"gap at start", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f4, f4), "a", "belonging to no tensor"},
		{"gap between", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f4, f4, f4), "b", "bytes 4 to 8"},
		{"trailing data", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4, []byte{1}), "", "cover 4 bytes, but the data section has 5"},
		{"data without tensors", file(`{}`, f4), "", "cover 0 bytes"},
		{"U64 out of range", file(`{"a":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}`, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}), "a", "does not fit in int64"},
	}
	for _, c := range cases {
		ts, md, err := readBytes(c.file)
		var fe *checkpoint.FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: got %v, %v, error %v; want a FormatError", c.name, ts, md, err)
			continue
		}
		if ts != nil || md != nil {
			t.Errorf("%s: results returned with the error", c.name)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
		if fe.Tensor != c.tensor {
			t.Errorf("%s: error names tensor %q, want %q", c.name, fe.Tensor, c.tensor)
		}
		if !strings.HasPrefix(err.Error(), "checkpoint: safetensors: ") {
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}
}

// Load names the file in its errors.
func TestLoadErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.safetensors")
	if err := os.WriteFile(path, file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := checkpoint.Load(path)
	var fe *checkpoint.FormatError
	if !errors.As(err, &fe) || fe.File != path || fe.Tensor != "a" {
		t.Fatalf("got %v", err)
	}
	if want := "checkpoint: " + path + `: tensor "a": `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}

	_, _, err = checkpoint.Load(filepath.Join(dir, "missing.safetensors"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: %v", err)
	}
	_, _, err = checkpoint.Load(dir)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
}

// A reader that is shorter than the size it is said to have gives an I/O
// error, not a panic or a FormatError.
func TestReadShortReader(t *testing.T) {
	b := writeBytes(t, map[string]*bp.Tensor{"x": bp.Ones(1000)}, nil)
	for _, cut := range []int{4, 20, len(b) - 1} {
		_, _, err := checkpoint.Read(bytes.NewReader(b[:cut]), int64(len(b)))
		if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name    string
		tensors map[string]*bp.Tensor
		md      map[string]string
		want    string
	}{
		{"nil tensor", map[string]*bp.Tensor{"a": nil}, nil, `tensor "a" is nil`},
		{"reserved name", map[string]*bp.Tensor{"__metadata__": bp.Ones(1)}, nil, "reserved"},
		{"bad name", map[string]*bp.Tensor{"\xff": bp.Ones(1)}, nil, "not valid UTF-8"},
		{"bad metadata", nil, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := checkpoint.Write(&buf, c.tensors, c.md)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", c.name, buf.Len())
		}
	}
}

// errWriter fails after n bytes.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteWriterError(t *testing.T) {
	tensors := map[string]*bp.Tensor{"a": bp.Ones(100000), "b": bp.Int64.Ones(3)}
	for _, n := range []int{0, 4, 20, 100, 200000} {
		err := checkpoint.Write(&errWriter{n}, tensors, nil)
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("fail after %d bytes: %v", n, err)
		}
	}
}

func TestReadHeader(t *testing.T) {
	b := writeBytes(t, map[string]*bp.Tensor{
		"w": bp.Zeros(3, 4),
		"s": bp.Float64.Scalar(1),
	}, map[string]string{"k": "v"})
	h, err := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	want := []checkpoint.TensorInfo{
		{Name: "s", DType: "F64", Shape: []int{}, Begin: 0, End: 8},
		{Name: "w", DType: "F32", Shape: []int{3, 4}, Begin: 8, End: 56},
	}
	if len(h.Tensors) != len(want) {
		t.Fatalf("got %+v", h.Tensors)
	}
	for i, w := range want {
		g := h.Tensors[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || g.Begin != w.Begin || g.End != w.End {
			t.Errorf("tensor %d: got %+v, want %+v", i, g, w)
		}
	}
	if h.Metadata["k"] != "v" || h.DataStart != int64(len(b))-56 {
		t.Errorf("metadata %v, data start %d", h.Metadata, h.DataStart)
	}
	if _, err := checkpoint.ReadHeader(bytes.NewReader(b[:5]), 5); err == nil {
		t.Error("no error for a truncated file")
	}
}
