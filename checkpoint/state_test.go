package checkpoint_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

func TestStateRoundTrip(t *testing.T) {
	g := bp.NewRNG(7)
	g.Float64() // move the generator off its seed
	rng, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	s := checkpoint.State{
		Epoch:     3,
		Step:      1200,
		ModelName: "mlp-784-128-10",
		Model: map[string]*bp.Tensor{
			"fc1.weight": g.Normal(0, 1, 4, 3),
			"fc1.bias":   bp.Zeros(4),
		},
		Optim: map[string]*bp.Tensor{
			"fc1.weight.m": g.Normal(0, 1, 4, 3),
			"step":         bp.Int64.Scalar(1200),
		},
		RNG:  rng,
		Meta: map[string]string{"lr": "0.001", "format": "pt"},
	}
	path := filepath.Join(t.TempDir(), "state.safetensors")
	if err := checkpoint.SaveState(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != 3 || got.Step != 1200 || got.ModelName != s.ModelName {
		t.Errorf("counters: got %d/%d/%q", got.Epoch, got.Step, got.ModelName)
	}
	if !bytes.Equal(got.RNG, rng) {
		t.Errorf("RNG state %x, want %x", got.RNG, rng)
	}
	if len(got.Meta) != 2 || got.Meta["lr"] != "0.001" || got.Meta["format"] != "pt" {
		t.Errorf("Meta = %v", got.Meta)
	}
	for _, pair := range []struct{ got, want map[string]*bp.Tensor }{{got.Model, s.Model}, {got.Optim, s.Optim}} {
		if len(pair.got) != len(pair.want) {
			t.Errorf("got %d tensors, want %d", len(pair.got), len(pair.want))
		}
		for name, w := range pair.want {
			if x := pair.got[name]; x == nil || !sameTensor(x, w) {
				t.Errorf("%s: got %v, want %v", name, x, w)
			}
		}
	}

	// The restored generator continues where the saved one stopped.
	r := bp.NewRNG(0)
	if err := r.UnmarshalBinary(got.RNG); err != nil {
		t.Fatal(err)
	}
	g2 := bp.NewRNG(7)
	g2.Float64()
	if a, b := r.Uint64(), g2.Uint64(); a != b {
		t.Errorf("restored RNG draws %d, want %d", a, b)
	}

	// As a plain safetensors file: weights under their own names, the
	// optimizer under its prefix, the counters as metadata.
	ts, md, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"fc1.weight", "fc1.bias", "optim/fc1.weight.m", "optim/step"} {
		if ts[name] == nil {
			t.Errorf("no tensor %q in %v", name, keys(ts))
		}
	}
	for k, v := range map[string]string{"backprop.state": "1", "backprop.epoch": "3", "backprop.step": "1200", "backprop.model": "mlp-784-128-10", "lr": "0.001"} {
		if md[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, md[k], v)
		}
	}
}

func keys(m map[string]*bp.Tensor) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A file of weights alone loads as a fresh state.
func TestLoadStateFromWeights(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weights.safetensors")
	if err := checkpoint.Save(path, map[string]*bp.Tensor{"w": bp.Ones(2)}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch != 0 || s.Step != 0 || s.RNG != nil || s.ModelName != "" || len(s.Optim) != 0 || s.Optim == nil {
		t.Errorf("got %+v", s)
	}
	if len(s.Model) != 1 || s.Model["w"] == nil || s.Meta["format"] != "pt" {
		t.Errorf("got %+v", s)
	}
}

func TestEmptyStateRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := checkpoint.WriteState(&buf, checkpoint.State{}); err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.ReadState(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Epoch != 0 || s.RNG != nil || len(s.Model)+len(s.Optim)+len(s.Meta) != 0 || s.Model == nil || s.Meta == nil {
		t.Errorf("got %+v", s)
	}
}

func TestSaveStateErrors(t *testing.T) {
	cases := []struct {
		name string
		s    checkpoint.State
		want string
	}{
		{"model name with optimizer prefix", checkpoint.State{Model: map[string]*bp.Tensor{"optim/x": bp.Ones(1)}}, "optimizer prefix"},
		{"reserved meta key", checkpoint.State{Meta: map[string]string{"backprop.epoch": "9"}}, "reserved"},
		{"nil tensor", checkpoint.State{Optim: map[string]*bp.Tensor{"m": nil}}, `"optim/m" is nil`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		err := checkpoint.SaveState(filepath.Join(dir, "s.safetensors"), c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}

func TestLoadStateErrors(t *testing.T) {
	cases := []struct {
		name string
		md   map[string]string
		want string
	}{
		{"newer layout", map[string]string{"backprop.state": "2"}, "layout version 2"},
		{"bad layout", map[string]string{"backprop.state": "x"}, "not a layout version"},
		{"bad epoch", map[string]string{"backprop.epoch": "three"}, `backprop.epoch = "three"`},
		{"bad step", map[string]string{"backprop.step": "1.5"}, "backprop.step"},
		{"huge step", map[string]string{"backprop.step": "99999999999999999999"}, "out of range"},
		{"bad rng", map[string]string{"backprop.rng": "!!"}, "backprop.rng"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		path := filepath.Join(dir, "s.safetensors")
		if err := checkpoint.Save(path, nil, c.md); err != nil {
			t.Fatal(err)
		}
		_, err := checkpoint.LoadState(path)
		var fe *checkpoint.FormatError
		if !errors.As(err, &fe) || fe.File != path || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a FormatError for %s mentioning %q", c.name, err, path, c.want)
		}
	}
}
