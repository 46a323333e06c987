package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// TestEval trains the mlp one epoch on the MNIST slice and evaluates it.
func TestEval(t *testing.T) {
	dir := tinyMNIST(t)
	path := filepath.Join(t.TempDir(), "mlp.safetensors")
	trainOK(t, "train", "--data-dir", dir, "--epochs", "1", "--optim", "adam", "--out", path, "--progress=false")
	t.Run("JSONAgreesWithTraining", func(t *testing.T) { testEvalJSON(t, path, dir) })
	t.Run("Table", func(t *testing.T) { testEvalTable(t, path, dir) })
	t.Run("Errors", func(t *testing.T) { testEvalErrors(t, path, dir) })
}

func testEvalJSON(t *testing.T, path, dir string) {
	out, errs := trainOK(t, "eval", "--model", path, "--data-dir", dir, "--json")
	if errs != "" {
		t.Errorf("stderr %q", errs)
	}
	var r struct {
		Accuracy  float64
		N         int
		Confusion [][]int
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if r.N != tinyTest || len(r.Confusion) != 10 {
		t.Fatalf("n %d, %d confusion rows", r.N, len(r.Confusion))
	}
	total, diag := 0, 0
	for i, row := range r.Confusion {
		if len(row) != 10 {
			t.Fatalf("confusion row %d has %d columns", i, len(row))
		}
		for j, v := range row {
			total += v
			if i == j {
				diag += v
			}
		}
	}
	if total != r.N || r.Accuracy != float64(diag)/float64(r.N) {
		t.Errorf("confusion total %d diagonal %d, accuracy %v", total, diag, r.Accuracy)
	}
	// The same number as the training run's own evaluation.
	rows := readCSV(t, strings.TrimSuffix(path, ".safetensors")+".csv")
	if want := rows[1][4]; fmt.Sprint(r.Accuracy) != want && fmt.Sprintf("%.6g", r.Accuracy) != want {
		t.Errorf("eval accuracy %v, training reported %s", r.Accuracy, want)
	}
	if r.Accuracy < 0.5 {
		t.Errorf("accuracy %v after an epoch of Adam", r.Accuracy)
	}
}

func testEvalTable(t *testing.T, path, dir string) {
	out, _ := trainOK(t, "eval", "--model", path, "--data-dir", dir, "--test-size", "100", "--threads", "1")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "mlp on the mnist test set (") || !strings.Contains(lines[0], "epoch 1): accuracy ") ||
		!strings.Contains(lines[0], " of 100)") {
		t.Errorf("first line %q", lines[0])
	}
	if len(lines) != 13 || !strings.HasPrefix(lines[2], "true\\pred") || !strings.HasSuffix(lines[2], "recall") ||
		!strings.HasPrefix(lines[12], "9 ") || !strings.HasSuffix(lines[12], "%") {
		t.Errorf("table:\n%s", out)
	}
}

func testEvalErrors(t *testing.T, path, dir string) {
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.safetensors")
	os.WriteFile(garbage, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated.safetensors")
	os.WriteFile(truncated, full[:len(full)/2], 0o644)
	st := loadState(t, path)
	write := func(name string, s checkpoint.State) string {
		p := filepath.Join(tmp, name)
		if err := checkpoint.SaveState(p, s); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noName := st
	noName.ModelName = ""
	unknown := st
	unknown.ModelName = "resnet"
	wrong := st // the mlp's weights, labelled as the cnn's
	wrong.ModelName = "cnn"
	wrong.Meta = nil
	plain := filepath.Join(tmp, "plain.safetensors")
	checkpoint.Save(plain, map[string]*bp.Tensor{"w": bp.Zeros(3)}, nil)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "eval needs --model FILE"},
		{[]string{"--model", filepath.Join(tmp, "missing.safetensors")}, "no such file"},
		{[]string{"--model", garbage}, "garbage.safetensors"},
		{[]string{"--model", truncated}, "truncated.safetensors"},
		{[]string{"--model", plain}, "names no model"},
		{[]string{"--model", write("noname.safetensors", noName)}, "names no model"},
		{[]string{"--model", write("unknown.safetensors", unknown)}, `the model "resnet", which eval does not know`},
		{[]string{"--model", write("wrong.safetensors", wrong)}, "the weights do not fit a cnn for mnist data"},
		{[]string{"--model", path, "--data", "svhn"}, `--data "svhn"`},
		{[]string{"--model", path, "--data", "cifar10", "--data-dir", tmp}, "test_batch.bin"}, // eval reads the test set alone
		{[]string{"--model", path, "--test-size", "-1"}, "--test-size -1"},
		{[]string{"--model", path, "--test-size", "1000"}, "only 256 examples"},
		{[]string{"--model", path, "--threads", "0"}, "--threads 0"},
		{[]string{"--model", path, "stray"}, "eval takes no arguments"},
		{[]string{"--model", path, "--jsn"}, "unknown flag: --jsn"},
	} {
		args := append([]string{"eval", "--data-dir", dir}, tc.args...)
		code, out, errs := cli(t, "", args...)
		wantError(t, code, out, errs, 1, tc.want)
	}
}
