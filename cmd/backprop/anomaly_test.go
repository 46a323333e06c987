package main

import (
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
)

// --detect-anomaly turns a diverging run's "the loss became NaN" into one
// line naming the op that first made a NaN or an infinity, and where.
func TestTrainDetectAnomaly(t *testing.T) {
	dir := tinyMNIST(t)
	out := filepath.Join(t.TempDir(), "a.safetensors")
	code, stdout, stderr := cli(t, "", "train", "--model", "mlp", "--lr", "1e30", "--epochs", "1", "--data-dir", dir,
		"--out", out, "--progress=false", "--detect-anomaly")
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("status %d, stdout %q, stderr %q; want status 1 and one line", code, stdout, stderr)
	}
	for _, want := range []string{"backprop: anomaly at epoch 1, step ", "Linear produced ", "input shapes [[", "recorded at ", "via nn/linear.go:"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if bp.DetectAnomaly() {
		t.Error("the mode is still on after the command")
	}
}

func TestGradNamesTheStepOfANaN(t *testing.T) {
	code, stdout, stderr := cli(t, "", "grad", "sqrt(x)+1", "x=-1")
	want := "backprop: the value of the expression is NaN (not a number): it starts at sqrt (column 1), which gives NaN from input x = -1\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("status %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, want)
	}
}
