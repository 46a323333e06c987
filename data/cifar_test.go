package data

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarRecords makes n records: record i has label (i+first)%10 and pixel j
// of channel c equal to (i + 3c + j) % 256.
func cifarRecords(n, first int) []byte {
	var b []byte
	for i := range n {
		b = append(b, byte((i+first)%10))
		for c := range 3 {
			for j := range 1024 {
				b = append(b, byte(i+3*c+j))
			}
		}
	}
	return b
}

var cifarNames = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}

// writeCIFAR writes file k with k+1 records whose labels continue from the
// previous file's.
func writeCIFAR(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := 0
	for k, name := range cifarNames {
		b := cifarRecords(k+1, first)
		if k == 2 {
			b = gz(b) // the content decides, not the name
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		first += k + 1
	}
}

func TestLoadCIFAR10(t *testing.T) {
	root := t.TempDir()
	writeCIFAR(t, filepath.Join(root, "cifar-10-batches-bin"))
	flat := t.TempDir()
	writeCIFAR(t, flat)
	for _, dir := range []string{root, flat} {
		train, test, err := LoadCIFAR10(dir)
		if err != nil {
			t.Fatal(err)
		}
		if train.Len() != 1+2+3+4+5 || test.Len() != 6 || !slices.Equal(train.ExampleShape(), []int{3, 32, 32}) || train.Classes() != 10 {
			t.Fatalf("train %d test %d shape %v", train.Len(), test.Len(), train.ExampleShape())
		}
		// Training labels run on across the five files in order.
		for i, y := range train.Labels() {
			if y != int64(i%10) {
				t.Fatalf("training labels %v", train.Labels())
			}
		}
		if got := test.Labels(); !slices.Equal(got, []int64{5, 6, 7, 8, 9, 0}) {
			t.Fatalf("test labels %v", got)
		}
		// Example 7 is record 1 of data_batch_4: pixel j of channel c is
		// (1+3c+j)%256, normalized with that channel's numbers.
		x, _ := train.Example(7)
		for c := range 3 {
			for _, j := range []int{0, 5, 1023} {
				p := byte(1 + 3*c + j)
				want := (float32(p)/float32(255) - CIFAR10Mean[c]) / CIFAR10Std[c]
				if got := x[c*1024+j]; got != want {
					t.Fatalf("channel %d pixel %d = %v, want %v", c, j, got, want)
				}
			}
		}
	}

	// ReadCIFAR10 scales without normalizing; Normalize then gives exactly
	// what LoadCIFAR10 gives.
	d, err := ReadCIFAR10(bytes.NewReader(cifarRecords(6, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if x, y := d.Example(2); x[0] != float32(2)/255 || x[1024] != float32(5)/255 || y != 7 {
		t.Fatalf("ReadCIFAR10 example 2: %v %v, label %d", x[0], x[1024], y)
	}
	d.Normalize(CIFAR10Mean[:], CIFAR10Std[:])
	_, test, _ := LoadCIFAR10(flat)
	if !slices.Equal(d.Images(), test.Images()) {
		t.Fatal("ReadCIFAR10 + Normalize differs from LoadCIFAR10")
	}
	// The test set alone: the same examples, without the training files.
	testOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(testOnly, "test_batch.bin"), cifarRecords(6, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := LoadCIFAR10Test(testOnly)
	if err != nil || !slices.Equal(ts.Images(), test.Images()) || !slices.Equal(ts.Labels(), test.Labels()) {
		t.Fatalf("LoadCIFAR10Test: %v", err)
	}
}

func TestCIFAR10Errors(t *testing.T) {
	rec := cifarRecords(2, 0)
	bad := slices.Clone(rec)
	bad[cifarRecord] = 10
	for _, c := range []struct {
		name string
		b    []byte // nil: absent
		want string
	}{
		{"missing", nil, "no such file"},
		{"empty", []byte{}, "empty CIFAR-10 batch"},
		{"truncated", rec[:len(rec)-1], "truncated: 6145 bytes are not a whole number of 3073-byte CIFAR-10 records (the last has 3072 bytes)"},
		{"label", bad, "label 10 of record 1 is outside 0..9"},
		{"corrupt gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, "corrupt gzip stream"},
		{"truncated gzip", gz(rec)[:40], "truncated: the gzip stream ends early"},
	} {
		dir := t.TempDir()
		writeCIFAR(t, dir)
		p := filepath.Join(dir, "data_batch_4.bin")
		os.Remove(p)
		if c.b != nil {
			if err := os.WriteFile(p, c.b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := LoadCIFAR10(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, p, c.want)
		}
	}
	t.Setenv("CIFAR10_DIR", "")
	if _, _, err := LoadCIFAR10(""); err == nil || !strings.Contains(err.Error(), "CIFAR10_DIR") {
		t.Errorf("LoadCIFAR10(\"\"): %v", err)
	}
}
