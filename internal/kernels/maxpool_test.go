package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests of maxPool2x2's float32 dispatch (the AVX2 kernel where there is
// one) against maxPool2x2Go, and of both against a plain scan, bit for bit
// in values and indices. Under purego both sides are the Go loop, so there
// the test checks the reference alone.

// scanPool2x2 is the definition: each window scanned row by row, the first
// maximum wins, and a NaN beats every number (the first NaN wins).
func scanPool2x2(w, oh, ow int, plane []float32, y []float32, idx []int32) {
	for oy := range oh {
		for ox := range ow {
			q := 2*oy*w + 2*ox
			best, bi := plane[q], q
			for _, p := range [...]int{q + 1, q + w, q + w + 1} {
				if better(plane[p], best) {
					best, bi = plane[p], p
				}
			}
			y[oy*ow+ox], idx[oy*ow+ox] = best, int32(bi)
		}
	}
}

// poolData fills x with values of one kind: a few levels, so that windows
// tie often, with signed zeros, infinities and NaNs of distinct payloads
// (and signs) mixed in at the given rate, so that "which NaN" shows.
func poolData(r *rand.Rand, x []float32, special float64) {
	levels := [...]float32{-3, -1, 0, 0.5, 1, 2}
	for i := range x {
		switch {
		case r.Float64() < special:
			switch r.IntN(5) {
			case 0:
				x[i] = float32(math.Copysign(0, -1))
			case 1:
				x[i] = 0
			case 2:
				x[i] = float32(math.Inf(1))
			case 3:
				x[i] = float32(math.Inf(-1))
			default:
				bits := uint32(0x7fc00000) | uint32(r.IntN(1<<22))
				if r.IntN(2) == 0 {
					bits |= 1 << 31
				}
				x[i] = math.Float32frombits(bits)
			}
		case r.IntN(4) == 0:
			x[i] = r.Float32()*4 - 2
		default:
			x[i] = levels[r.IntN(len(levels))]
		}
	}
}

func checkPoolEqual(t *testing.T, what string, y0, y1 []float32, i0, i1 []int32) {
	t.Helper()
	for k := range y0 {
		if math.Float32bits(y0[k]) != math.Float32bits(y1[k]) || i0[k] != i1[k] {
			t.Fatalf("%s: output %d: got %v (%#08x) at %d, want %v (%#08x) at %d",
				what, k, y1[k], math.Float32bits(y1[k]), i1[k], y0[k], math.Float32bits(y0[k]), i0[k])
		}
	}
}

func TestMaxPool2x2F32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	var widths []int
	for w := 2; w <= 70; w++ {
		widths = append(widths, w)
	}
	widths = append(widths, 127, 128, 256, 1001)
	asmRan := false
	for _, w := range widths {
		for _, h := range []int{2, 3, 5, 8} {
			if w > 128 && h > 3 {
				continue
			}
			for _, special := range []float64{0, 0.05, 0.5} {
				oh, ow := h/2, w/2
				x := make([]float32, h*w)
				poolData(r, x, special)
				what := fmt.Sprintf("H=%d W=%d special=%v", h, w, special)

				want, wantIdx := make([]float32, oh*ow), make([]int32, oh*ow)
				scanPool2x2(w, oh, ow, x, want, wantIdx)
				ref, refIdx := make([]float32, oh*ow), make([]int32, oh*ow)
				maxPool2x2Go(w, oh, ow, x, ref, refIdx)
				checkPoolEqual(t, what+" (Go loop)", want, ref, wantIdx, refIdx)

				// Sentinels before the call and past the end: every output is
				// written, and nothing beyond.
				n := oh * ow
				yb, ib := make([]float32, n+9), make([]int32, n+9)
				for k := range yb {
					yb[k], ib[k] = 12345, -7
				}
				if maxPool2x2F32Fast(w, oh, ow, x, yb[:n], ib[:n]) {
					asmRan = true
				} else {
					maxPool2x2(w, oh, ow, x, yb[:n], ib[:n])
				}
				checkPoolEqual(t, what, want, yb[:n], wantIdx, ib[:n])
				for k := n; k < len(yb); k++ {
					if yb[k] != 12345 || ib[k] != -7 {
						t.Fatalf("%s: wrote past the output, at %d", what, k)
					}
				}
			}
		}
	}
	if useAVX2Pool() && !asmRan {
		t.Fatal("the assembly kernel never ran")
	}
}

// TestMaxPool2dF32Planes runs MaxPool2d's 2x2 path over many planes, the
// way the CNN calls it, against the plain scan plane by plane.
func TestMaxPool2dF32Planes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, hw := range [][2]int{{28, 28}, {14, 14}, {9, 13}} {
		s := ConvShape{N: 37, C: 1, O: 1, H: hw[0], W: hw[1], KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1}
		s = withOutSize(s)
		x := make([]float32, s.N*s.H*s.W)
		poolData(r, x, 0.02)
		y, idx := make([]float32, s.N*s.OH*s.OW), make([]int32, s.N*s.OH*s.OW)
		MaxPool2d(s, x, y, idx)
		ohw, phw := s.OH*s.OW, s.H*s.W
		want, wantIdx := make([]float32, ohw), make([]int32, ohw)
		for p := range s.N {
			scanPool2x2(s.W, s.OH, s.OW, x[p*phw:(p+1)*phw], want, wantIdx)
			checkPoolEqual(t, fmt.Sprintf("%dx%d plane %d", s.H, s.W, p), want, y[p*ohw:(p+1)*ohw], wantIdx, idx[p*ohw:(p+1)*ohw])
		}
	}
}

// useAVX2Pool reports whether maxPool2x2F32Fast should take float32
// planes on this build and machine.
func useAVX2Pool() bool {
	x := make([]float32, 16)
	return maxPool2x2F32Fast(8, 1, 4, x, make([]float32, 4), make([]int32, 4))
}

// The CNN's two pools (after conv32 and conv64 on MNIST), one thread, one
// plane at a time as MaxPool2d does. Bytes are the input read.
func BenchmarkMaxPool2x2F32(b *testing.B) {
	for _, sh := range []struct{ planes, h, w int }{{64 * 32, 28, 28}, {64 * 64, 14, 14}} {
		r := rand.New(rand.NewPCG(1, 2))
		hw, oh, ow := sh.h*sh.w, sh.h/2, sh.w/2
		x := make([]float32, sh.planes*hw)
		for i := range x {
			// Post-ReLU: about half zeros.
			x[i] = max(0, r.Float32()*2-1)
		}
		y, idx := make([]float32, sh.planes*oh*ow), make([]int32, sh.planes*oh*ow)
		for _, impl := range []struct {
			name string
			fn   func(w, oh, ow int, plane, y []float32, idx []int32)
		}{{"go", maxPool2x2Go[float32]}, {"dispatch", maxPool2x2[float32]}} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", sh.planes, sh.h, sh.w, impl.name), func(b *testing.B) {
				b.SetBytes(int64(len(x) * 4))
				for b.Loop() {
					for p := range sh.planes {
						o := p * oh * ow
						impl.fn(sh.w, oh, ow, x[p*hw:(p+1)*hw], y[o:o+oh*ow], idx[o:o+oh*ow])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(y)), "ns/out")
			})
		}
	}
}
