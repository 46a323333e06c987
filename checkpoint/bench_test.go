package checkpoint_test

import (
	"bytes"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// BenchmarkWrite and BenchmarkRead move 64 MiB of float32 weights through
// memory, so they measure the format's own cost (encoding, and the CRC-32C
// checksums) without a disk.
func benchTensors() map[string]*bp.Tensor {
	return map[string]*bp.Tensor{"w": bp.NewRNG(1).Normal(0, 1, 4096, 4096)}
}

func BenchmarkWrite(b *testing.B) {
	ts := benchTensors()
	var buf bytes.Buffer
	b.SetBytes(4096 * 4096 * 4)
	for b.Loop() {
		buf.Reset()
		if err := checkpoint.Write(&buf, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	if err := checkpoint.Write(&buf, benchTensors(), nil); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(4096 * 4096 * 4)
	for b.Loop() {
		if _, _, err := checkpoint.Read(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
