package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
)

// TestTinyRun trains on 2,048 images for two epochs, which takes the
// network well past chance, and checks that the saved weights load into a
// new Net and score the same.
func TestTinyRun(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "net.safetensors")
	acc, err := run(&out, options{epochs: 2, batch: 64, lr: 1e-3, trainN: 2048, testN: 1000, out: path})
	if err != nil {
		t.Fatal(err)
	}
	if acc < 0.8 {
		t.Errorf("test accuracy %v, want at least 0.8", acc)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "epoch 2: train loss ") {
		t.Errorf("output:\n%s", out.String())
	}

	weights, _, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	model := NewNet(bp.NewRNG(99))
	if err := nn.LoadStateDict(model, weights); err != nil {
		t.Fatal(err)
	}
	_, testSet, err := data.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	testSet = testSet.Slice(0, 1000)
	testSet.Normalize([]float32{data.MNISTMean}, []float32{data.MNISTStd})
	if got := evaluate(model, testSet); got != acc {
		t.Errorf("reloaded weights score %v, the trained model %v", got, acc)
	}
}
