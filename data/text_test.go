package data

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gobackprop/backprop"
)

func TestVocabSortedDistinctBytes(t *testing.T) {
	v := NewVocab([]byte("hello, world"))
	if got, want := string(v.Bytes()), " ,dehlorw"; got != want {
		t.Fatalf("vocab %q, want %q", got, want)
	}
	ids, err := v.Encode([]byte("low"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []int64{5, 6, 8}) {
		t.Fatalf("Encode(low) = %v", ids)
	}
	if got := string(v.Decode(ids)); got != "low" {
		t.Fatalf("Decode = %q", got)
	}
	if _, err := v.Encode([]byte("lax")); err == nil || !strings.Contains(err.Error(), `'a'`) {
		t.Fatalf("Encode of a byte outside the vocabulary: %v", err)
	}
	if _, err := VocabOf([]byte("ba")); err == nil {
		t.Fatal("VocabOf accepted unsorted bytes")
	}
	w, err := VocabOf(v.Bytes())
	if err != nil || !bytes.Equal(w.Bytes(), v.Bytes()) {
		t.Fatalf("VocabOf round trip: %v", err)
	}
}

func TestSplitNinetyTen(t *testing.T) {
	ids := make([]int64, 105)
	tr, va := Split(ids)
	if len(tr) != 94 || len(va) != 11 {
		t.Fatalf("split %d/%d, want 94/11 (n*9/10 as the twin)", len(tr), len(va))
	}
}

func TestReadTextErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("a.txt", []byte("héllo\n"))
	good2 := write("b.txt", []byte("more"))
	for name, tc := range map[string]struct {
		path, want string
	}{
		"missing": {filepath.Join(dir, "nope.txt"), "does not exist"},
		"empty":   {write("e.txt", nil), "is empty"},
		"nul":     {write("n.bin", []byte("ab\x00c")), "NUL byte at offset 2"},
		"utf8":    {write("l.txt", []byte("caf\xe9 ok")), "invalid byte 0xe9 at offset 3"},
	} {
		_, err := ReadText(good, tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", name, err, tc.path, tc.want)
		}
	}
	c, err := ReadText(good, good2)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Text) != "héllo\nmore" || len(c.Hash()) != 64 {
		t.Fatalf("corpus %q hash %q", c.Text, c.Hash())
	}
}

func TestGoSourceFiles(t *testing.T) {
	files, err := GoSourceFiles()
	if err != nil {
		t.Skip(err)
	}
	if !slices.IsSorted(files) {
		t.Fatal("default corpus files are not sorted")
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") {
			t.Fatalf("unexpected file %s", f)
		}
	}
}

func TestTokenWindowsLoader(t *testing.T) {
	toks := make([]int64, 50)
	for i := range toks {
		toks[i] = int64(i % 7)
	}
	ds := NewTokenWindows(toks, 8, 7)
	if ds.Len() != 50-8-1 {
		t.Fatalf("Len %d", ds.Len())
	}
	ld := &Loader{Dataset: ds, BatchSize: 4, Shuffle: true, Seed: 3}
	n := 0
	for b := range ld.Epoch(0) {
		if b.X.DType() != backprop.Int64 || b.Y.DType() != backprop.Int64 {
			t.Fatalf("batch dtypes %v %v, want int64", b.X.DType(), b.Y.DType())
		}
		if !slices.Equal(b.X.Shape(), []int{b.Size(), 8}) || !slices.Equal(b.Y.Shape(), []int{b.Size(), 8}) {
			t.Fatalf("batch shapes %v %v", b.X.Shape(), b.Y.Shape())
		}
		x, y := b.X.I64(), b.Y.I64()
		for k, off := range b.Indices {
			for j := range 8 {
				if x[k*8+j] != toks[off+j] || y[k*8+j] != toks[off+j+1] {
					t.Fatalf("window %d at %d: x %v y %v", k, off, x[k*8:k*8+8], y[k*8:k*8+8])
				}
			}
		}
		n += b.Size()
	}
	if n != ds.Len() {
		t.Fatalf("epoch saw %d windows of %d", n, ds.Len())
	}
	x, y := Gather(ds, []int{3})
	if x.DType() != backprop.Int64 || !slices.Equal(y.Shape(), []int{1, 8}) || y.I64()[0] != toks[4] {
		t.Fatalf("Gather: %v %v %v", x.DType(), y.Shape(), y.I64())
	}
}

// A device or pipe that never ends is refused at its first NUL byte, not
// read until memory runs out; a corpus over the limit is refused; a
// directory is named as one.
func TestReadTextEndlessAndLarge(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := ReadText("/dev/zero")
		if err == nil || !strings.Contains(err.Error(), "is binary, not text (a NUL byte at offset 0)") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte(strings.Repeat("abc ", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := readTextFile(&buf, p, 39); err == nil || !strings.Contains(err.Error(), "the corpus is over 39 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	buf.Reset()
	if err := readTextFile(&buf, p, 40); err != nil || buf.Len() != 40 {
		t.Errorf("at the limit: %d bytes, %v", buf.Len(), err)
	}
	if _, err := ReadText(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	if maxTextBytes() < 1<<20 {
		t.Errorf("maxTextBytes %d", maxTextBytes())
	}
}
