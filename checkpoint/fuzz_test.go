package checkpoint_test

import (
	"bytes"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// FuzzRead feeds arbitrary bytes to Read. It must never panic; whatever it
// accepts must survive a write and a second read unchanged (Read converts
// every dtype to one that Write stores, so the second read is exact).
// Crashers the fuzzer finds are kept in testdata/fuzz and rerun by go test.
//
//	go test -run '^$' -fuzz FuzzRead -fuzztime 30s ./checkpoint
func FuzzRead(f *testing.F) {
	seeds := []map[string]*bp.Tensor{
		nil,
		{"a": bp.Ones(2, 3), "b": bp.Float64.Scalar(1), "c": bp.Int64.Zeros(0, 4)},
		{"x": bp.FromInt64s([]int64{-1, 1 << 40})},
	}
	for _, ts := range seeds {
		var buf bytes.Buffer
		if err := checkpoint.Write(&buf, ts, map[string]string{"k": "v"}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(file(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BOOL","shape":[],"data_offsets":[4,5]}}`, []byte{1, 2, 3, 4, 5}))
	f.Add(file(`{"u":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},"__metadata__":null}`, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(file(`{"a":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]},"z":{"dtype":"I8","shape":[0],"data_offsets":[2,2]}}`, []byte{1, 2}))

	f.Fuzz(checkRead)
}

// FuzzReadJSON is FuzzRead with the header length always right, so the
// fuzzer spends its time on the JSON and the data rather than on the
// first eight bytes.
func FuzzReadJSON(f *testing.F) {
	f.Add(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BOOL","shape":[],"data_offsets":[4,5]}}`, []byte{1, 2, 3, 4, 5})
	f.Add(`{"u":{"dtype":"U64","shape":[1,0],"data_offsets":[0,0]},"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, header string, data []byte) {
		checkRead(t, file(header, data))
	})
}

// checkRead asserts that Read does not panic on b and that what it
// accepts survives a write and a second read unchanged.
func checkRead(t *testing.T, b []byte) {
	ts, md, err := checkpoint.Read(bytes.NewReader(b), int64(len(b)))
	// Read checks everything ReadHeader does, and values besides.
	if _, herr := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b))); herr != nil && err == nil {
		t.Fatalf("ReadHeader rejects what Read accepts: %v", herr)
	}
	if err != nil {
		return
	}
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, ts, md); err != nil {
		t.Fatalf("writing what was read: %v", err)
	}
	ts2, md2, err := checkpoint.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("reading what was written: %v", err)
	}
	if len(ts2) != len(ts) || len(md2) != len(md) {
		t.Fatalf("round trip changed the counts: %d/%d tensors, %d/%d metadata", len(ts2), len(ts), len(md2), len(md))
	}
	for name, x := range ts {
		if y := ts2[name]; y == nil || !sameTensor(x, y) {
			t.Fatalf("tensor %q changed in the round trip", name)
		}
	}
	for k, v := range md {
		if md2[k] != v {
			t.Fatalf("metadata %q changed in the round trip", k)
		}
	}
}
