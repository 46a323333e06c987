package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// A read error right after a complete gzip member is the reader's error,
// not the end of the file: the stream might have held more (another member,
// or trailing bytes that make the file invalid).
func TestReadIDXReadErrorAfterGzipMember(t *testing.T) {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte{0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9}) // a 1-d IDX of 3 bytes
	w.Close()
	dims, data, err := ReadIDX(bytes.NewReader(buf.Bytes()))
	if err != nil || len(dims) != 1 || dims[0] != 3 || !bytes.Equal(data, []byte{7, 8, 9}) {
		t.Fatalf("ReadIDX of a good stream: %v %v %v", dims, data, err)
	}
	boom := errors.New("disk on fire")
	_, _, err = ReadIDX(io.MultiReader(bytes.NewReader(buf.Bytes()), failingReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("ReadIDX: error %v, want the reader's %v", err, boom)
	}
}

// Cached GoMNIST versions are found under a module cache whose path holds
// glob metacharacters, newest first.
func TestGomnistDirsUnderOddRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a[1]*?")
	esc := filepath.FromSlash(escapeModulePath(gomnistModule))
	for _, v := range []string{"v0.0.1", "v0.0.2"} {
		if err := os.MkdirAll(filepath.Join(root, esc+"@"+v, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Not a version of the module: another module whose name it prefixes.
	if err := os.MkdirAll(filepath.Join(root, esc+"x@v1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	dirs := gomnistDirs([]string{root})
	var listed []string
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			listed = append(listed, d)
		}
	}
	want := []string{filepath.Join(root, esc+"@v0.0.2", "data"), filepath.Join(root, esc+"@v0.0.1", "data")}
	if !slices.Equal(listed, want) {
		t.Fatalf("existing candidates %q, want %q (all: %q)", listed, want, dirs)
	}
}
