package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// An unusable --out is found before training starts: the error is the
// only line on stderr (no header, no epoch) and nothing is left behind.
func TestTrainOutCheckedFirst(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "side.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ out, want string }{
		{filepath.Join(file, "run.safetensors"), "not a directory"},
		{filepath.Join(tmp, "side.safetensors"), "side.csv is a directory"},
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(tmp, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ out, want string }{filepath.Join(ro, "sub", "run.safetensors"), "permission denied"})
	} else {
		t.Log("running as root: the read-only folder case is not checked (root writes anywhere)")
	}
	for _, c := range cases {
		code, out, errs := cli(t, "", "train", "--model", "softmax", "--data-dir", dir, "--out", c.out)
		wantError(t, code, out, errs, 1, c.want)
		if !strings.Contains(errs, "--out") {
			t.Errorf("%s: %q does not name --out", c.out, errs)
		}
	}
	es, _ := os.ReadDir(tmp)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") || e.Name() == "sub" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// writeSquareIDX writes n blank MNIST-style images of side x side.
func writeSquareIDX(t *testing.T, dir, prefix string, n, side int) {
	t.Helper()
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	for _, d := range []int{n, side, side} {
		img = binary.BigEndian.AppendUint32(img, uint32(d))
	}
	img = append(img, make([]byte, n*side*side)...)
	lab := binary.BigEndian.AppendUint32(nil, 0x801)
	lab = binary.BigEndian.AppendUint32(lab, uint32(n))
	for i := range n {
		lab = append(lab, byte(i%10))
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A data folder whose training images are 32x32 and test images 28x28 is
// refused before training, with both shapes named (it used to train an
// epoch, then end in "internal error").
func TestTrainMismatchedSets(t *testing.T) {
	dir := t.TempDir()
	writeSquareIDX(t, dir, "train", 64, 32)
	writeSquareIDX(t, dir, "t10k", 16, 28)
	code, out, errs := cli(t, "", "train", "--data-dir", dir, "--out", filepath.Join(t.TempDir(), "m.safetensors"))
	wantError(t, code, out, errs, 1, "[1 32 32]")
	if !strings.Contains(errs, "[1 28 28]") || strings.Contains(errs, "internal error") {
		t.Errorf("stderr %q", errs)
	}
}

// Resuming with another optimizer names --optim, the flag given, and not
// --momentum, a saved setting the user never typed.
func TestResumeBlamesGivenFlags(t *testing.T) {
	dir := tinyMNIST(t)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	out, _ := trainOK(t, "train", "--model", "softmax", "--epochs", "1", "--data-dir", dir, "--out", path, "--progress=false")
	if !strings.Contains(out, "after 1 epoch;") {
		t.Errorf("stdout %q: want \"after 1 epoch;\"", out)
	}
	code, out, errs := cli(t, "", "train", "--resume", path, "--epochs", "2", "--optim", "adam", "--data-dir", dir)
	wantError(t, code, out, errs, 1, "--optim adam (the checkpoint has momentum)")
	if strings.Contains(errs, "--momentum") {
		t.Errorf("stderr %q blames --momentum, which was not given", errs)
	}
}

// A checkpoint with a NaN weight (saved that way, so its checksum holds)
// is refused by eval and by --resume, naming the tensor; one with a
// flipped byte is refused by its checksum.
func TestNonFiniteAndDamagedCheckpoints(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.safetensors")
	trainOK(t, "train", "--model", "softmax", "--epochs", "1", "--data-dir", dir, "--out", good, "--progress=false")
	st, err := checkpoint.LoadState(good)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for n, x := range st.Model {
		if x.DType() == bp.Float32 && x.Numel() > 3 && (name == "" || n < name) {
			name = n
		}
	}
	w := st.Model[name]
	w.F32()[3] = float32(math.NaN())
	nan := filepath.Join(tmp, "nan.safetensors")
	if err := checkpoint.SaveState(nan, st); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, "", "eval", "--model", nan, "--data-dir", dir)
	wantError(t, code, out, errs, 1, `"`+name+`" holds NaN`)
	code, out, errs = cli(t, "", "train", "--resume", nan, "--epochs", "2", "--data-dir", dir)
	wantError(t, code, out, errs, 1, `"`+name+`" holds NaN`)

	// Flip the top byte of one weight of the good file on disk.
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	h, err := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range h.Tensors {
		if ti.Name == name {
			b[h.DataStart+ti.Begin+3] ^= 0x40
		}
	}
	bad := filepath.Join(tmp, "bad.safetensors")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"eval", "--model", bad, "--data-dir", dir},
		{"train", "--resume", bad, "--epochs", "2", "--data-dir", dir},
	} {
		code, out, errs := cli(t, "", args...)
		wantError(t, code, out, errs, 1, `tensor "`+name+`": its bytes do not match their checksum`)
	}
}

// Hostile values found by trying: each is one clear line before any
// training, never "internal error".
func TestTrainHostileFlags(t *testing.T) {
	dir := tinyMNIST(t)
	out := filepath.Join(t.TempDir(), "m.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--threads", "100000"}, "--threads 100000: want at most"},
		{[]string{"--out", ""}, "--out needs a file name"},
		{[]string{"--resume", ""}, "--resume needs a checkpoint file"},
		{[]string{"--resume", "/dev/null"}, "/dev/null is a device"},
	} {
		args := append([]string{"train", "--model", "softmax", "--data-dir", dir, "--out", out}, c.args...)
		code, stdout, errs := cli(t, "", args...)
		wantError(t, code, stdout, errs, 1, c.want)
	}
	code, stdout, errs := cli(t, "", "eval", "--model", out, "--threads", "100000")
	wantError(t, code, stdout, errs, 1, "--threads 100000: want at most")
	// Sizes near MaxInt train (one batch of all; a schedule that holds)
	// instead of overflowing.
	for _, args := range [][]string{
		{"--batch", "9223372036854775807"},
		{"--warmup", "9223372036854775807"},
		{"--schedule", "step", "--step-size", "9223372036854775807"},
	} {
		a := append([]string{"train", "--model", "softmax", "--epochs", "1", "--data-dir", dir, "--out", out, "--progress=false"}, args...)
		if o, _ := trainOK(t, a...); !strings.Contains(o, "after 1 epoch") {
			t.Errorf("%v: stdout %q", args, o)
		}
	}
}

// An empty --svg or --dot (an unset shell variable) is refused rather
// than silently writing nothing.
func TestGradEmptyOutputFlags(t *testing.T) {
	for _, flag := range []string{"--svg", "--dot"} {
		code, out, errs := cli(t, "", "grad", flag, "", "x", "x=1")
		wantError(t, code, out, errs, 1, flag+" needs a file name")
		code, out, errs = cli(t, "", "grad", flag+"=", "x", "x=1")
		wantError(t, code, out, errs, 1, flag+" needs a file name")
	}
}
