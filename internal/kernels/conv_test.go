package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Tests of the convolution and pooling kernels against their definitions,
// loop by loop, on shapes that reach every fast path and every edge case.

var testConvShapes = []ConvShape{
	// Stride 1, width kept: im2col's and col2im's single-run path.
	{N: 2, C: 3, H: 5, W: 6, O: 4, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
	// The same with tiny planes, dilation, and five kernel columns.
	{N: 1, C: 2, H: 2, W: 2, O: 2, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
	{N: 1, C: 1, H: 1, W: 7, O: 1, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
	{N: 2, C: 3, H: 5, W: 6, O: 2, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2},
	{N: 1, C: 2, H: 4, W: 6, O: 3, KH: 2, KW: 5, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 2, DH: 1, DW: 1},
	// Strides, dilations, uneven padding.
	{N: 2, C: 4, H: 7, W: 8, O: 2, KH: 2, KW: 3, Groups: 2, SH: 2, SW: 3, PH: 1, PW: 2, DH: 2, DW: 1},
	{N: 1, C: 6, H: 6, W: 5, O: 6, KH: 3, KW: 2, Groups: 3, SH: 1, SW: 2, PH: 2, PW: 0, DH: 1, DW: 2},
	// Kernel rows wholly in the padding.
	{N: 1, C: 2, H: 2, W: 3, O: 2, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 2, PW: 2, DH: 1, DW: 1},
	// Many channels (channels-last rows), and one channel with many
	// output channels (the transposed weight-gradient product).
	{N: 3, C: 12, H: 5, W: 5, O: 3, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
	{N: 3, C: 1, H: 6, W: 7, O: 12, KH: 3, KW: 3, Groups: 1, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
	// Channels-last rows with dilation and stride; a wide kernel on one
	// channel, whose rows are long enough without a transpose.
	{N: 1, C: 8, H: 5, W: 6, O: 2, KH: 2, KW: 2, Groups: 1, SH: 1, SW: 2, PH: 1, PW: 1, DH: 2, DW: 2},
	{N: 2, C: 1, H: 3, W: 20, O: 2, KH: 1, KW: 16, Groups: 1, SH: 1, SW: 1, PH: 0, PW: 1, DH: 1, DW: 1},
	// 1x1: the input is its own im2col.
	{N: 2, C: 4, H: 3, W: 4, O: 6, KH: 1, KW: 1, Groups: 2, SH: 1, SW: 1, DH: 1, DW: 1},
	// More images than weight-gradient runs.
	{N: 11, C: 2, H: 4, W: 4, O: 3, KH: 2, KW: 2, Groups: 1, SH: 1, SW: 1, PH: 0, PW: 1, DH: 1, DW: 1},
}

func withOutSize(s ConvShape) ConvShape {
	s.OH = (s.H+2*s.PH-s.DH*(s.KH-1)-1)/s.SH + 1
	s.OW = (s.W+2*s.PW-s.DW*(s.KW-1)-1)/s.SW + 1
	return s
}

// inputAt returns x[n, c, iy, ix], or 0 in the padding.
func inputAt(s *ConvShape, x []float64, n, c, iy, ix int) float64 {
	if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
		return 0
	}
	return x[((n*s.C+c)*s.H+iy)*s.W+ix]
}

func naiveConv(s *ConvShape, x, w, bias []float64) []float64 {
	y := make([]float64, s.N*s.O*s.OH*s.OW)
	cg, og := s.CG(), s.OG()
	for n := range s.N {
		for o := range s.O {
			g := o / og
			for oy := range s.OH {
				for ox := range s.OW {
					v := 0.0
					if bias != nil {
						v = bias[o]
					}
					for ci := range cg {
						for ki := range s.KH {
							for kj := range s.KW {
								xv := inputAt(s, x, n, g*cg+ci, oy*s.SH-s.PH+ki*s.DH, ox*s.SW-s.PW+kj*s.DW)
								v += xv * w[((o*cg+ci)*s.KH+ki)*s.KW+kj]
							}
						}
					}
					y[((n*s.O+o)*s.OH+oy)*s.OW+ox] = v
				}
			}
		}
	}
	return y
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func near(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-10*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The three convolution kernels are the convolution and its two adjoints:
// <conv(x, w), g> = <x, input(g, w)> = <w, weight(x, g)>.
func TestConvKernelsMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i, s := range testConvShapes {
		s = withOutSize(s)
		x := randSlice[float64](r, s.N*s.C*s.H*s.W)
		w := randSlice[float64](r, s.O*s.K())
		bias := randSlice[float64](r, s.O)
		g := randSlice[float64](r, s.N*s.O*s.OH*s.OW)

		y := make([]float64, len(g))
		for k := range y {
			y[k] = math.NaN()
		}
		ConvForward(s, x, w, nil, y)
		near(t, "forward", y, naiveConv(&s, x, w, nil))
		ConvForward(s, x, w, bias, y)
		near(t, "forward with bias", y, naiveConv(&s, x, w, bias))

		gx := make([]float64, len(x))
		for k := range gx { // overwritten, whatever it held
			gx[k] = math.NaN()
		}
		ConvBackwardInput(s, g, w, gx)
		gw := make([]float64, len(w))
		gb := make([]float64, s.O)
		ConvBackwardWeight(s, x, g, gw, gb)
		want := dot(naiveConv(&s, x, w, nil), g)
		if got := dot(x, gx); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("shape %d: <x, input gradient> = %v, <conv, g> = %v", i, got, want)
		}
		if got := dot(w, gw); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("shape %d: <w, weight gradient> = %v, <conv, g> = %v", i, got, want)
		}
		// Each weight's gradient alone: the convolution with a one-hot
		// weight, against g.
		for k := range w {
			e := make([]float64, len(w))
			e[k] = 1
			if got, want := gw[k], dot(naiveConv(&s, x, e, nil), g); math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Fatalf("shape %d: weight gradient[%d] = %v, want %v", i, k, got, want)
			}
		}
		// The bias gradient, alone and along with the weight's, bit for bit.
		gb2 := make([]float64, s.O)
		ConvBiasGrad(s, g, gb2)
		if !slices.Equal(gb, gb2) {
			t.Fatalf("shape %d: bias gradient %v alone, %v with the weight's", i, gb2, gb)
		}
		for o := range s.O {
			want := 0.0
			for n := range s.N {
				for _, v := range g[(n*s.O+o)*s.OH*s.OW : (n*s.O+o+1)*s.OH*s.OW] {
					want += v
				}
			}
			if math.Abs(gb[o]-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("shape %d: bias gradient[%d] = %v, want %v", i, o, gb[o], want)
			}
		}
		// gw is overwritten, whatever it held.
		for k := range gw {
			gw[k] = math.NaN()
		}
		ConvBackwardWeight(s, x, g, gw, nil)
		if got := dot(w, gw); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("shape %d: weight gradient into a used buffer: %v, want %v", i, got, want)
		}
	}
}

// Scratch buffers come back from the pool holding old values; nothing may
// depend on them. Running a shape after one that fills the pool with NaNs
// must give the same bits as running it alone.
func TestConvScratchReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	s := withOutSize(testConvShapes[1])
	x := randSlice[float32](r, s.N*s.C*s.H*s.W)
	w := randSlice[float32](r, s.O*s.K())
	g := randSlice[float32](r, s.N*s.O*s.OH*s.OW)
	run := func() [][]float32 {
		y := make([]float32, len(g))
		gx := make([]float32, len(x))
		gw := make([]float32, len(w))
		ConvForward(s, x, w, nil, y)
		ConvBackwardInput(s, g, w, gx)
		ConvBackwardWeight(s, x, g, gw, nil)
		return [][]float32{y, gx, gw}
	}
	first := run()
	for range 4 {
		for n := 1; n < 1<<16; n *= 2 {
			b := getConvScratch[float32](n)
			for i := range *b {
				(*b)[i] = float32(math.NaN())
			}
			putConvScratch(b)
		}
		again := run()
		for k := range first {
			if !slices.Equal(first[k], again[k]) {
				t.Fatalf("result %d changed after the scratch pool was dirtied", k)
			}
		}
	}
}

func TestTranspose(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {9, 17, 20}, {32, 196, 196}} {
		rows, cols, ld := sz[0], sz[1], sz[2]
		src := randSlice[float64](r, rows*ld)
		dst := make([]float64, rows*cols)
		transpose(rows, cols, src, ld, dst)
		for i := range rows {
			for j := range cols {
				if dst[j*rows+i] != src[i*ld+j] {
					t.Fatalf("%v: dst[%d,%d] = %v, want %v", sz, j, i, dst[j*rows+i], src[i*ld+j])
				}
			}
		}
	}
}

func TestValidRange(t *testing.T) {
	for off := -5; off <= 5; off++ {
		for stride := 1; stride <= 3; stride++ {
			for size := 0; size <= 4; size++ {
				for out := 0; out <= 6; out++ {
					lo, hi := validRange(off, stride, size, out)
					for o := range out {
						in := o*stride+off >= 0 && o*stride+off < size
						if in != (o >= lo && o < hi) {
							t.Fatalf("validRange(%d, %d, %d, %d) = [%d, %d), but output %d is inside: %v", off, stride, size, out, lo, hi, o, in)
						}
					}
				}
			}
		}
	}
}

// naiveMaxPool scans each window in order, keeping the first maximum and
// the first NaN.
func naiveMaxPool(s *ConvShape, x []float64) ([]float64, []int32) {
	var y []float64
	var idx []int32
	for p := range s.N {
		for oy := range s.OH {
			for ox := range s.OW {
				best, bi := math.Inf(-1), int32(-1)
				for ki := range s.KH {
					for kj := range s.KW {
						iy, ix := oy*s.SH-s.PH+ki*s.DH, ox*s.SW-s.PW+kj*s.DW
						if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
							continue
						}
						v := x[(p*s.H+iy)*s.W+ix]
						if bi < 0 || (!math.IsNaN(best) && (v > best || math.IsNaN(v))) {
							best, bi = v, int32(iy*s.W+ix)
						}
					}
				}
				y, idx = append(y, best), append(idx, bi)
			}
		}
	}
	return y, idx
}

func TestMaxPool(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	shapes := []ConvShape{
		{N: 6, H: 6, W: 8, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}, // the 2x2 path
		{N: 3, H: 7, W: 7, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}, // odd sizes
		{N: 3, H: 7, W: 6, KH: 3, KW: 3, SH: 2, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1},
		{N: 2, H: 6, W: 7, KH: 2, KW: 3, SH: 1, SW: 2, PH: 1, PW: 1, DH: 2, DW: 2},
		// Windows wholly in the padding: value −Inf, index −1.
		{N: 1, H: 1, W: 1, KH: 1, KW: 3, SH: 1, SW: 1, PH: 0, PW: 2, DH: 1, DW: 1},
	}
	for i, s := range shapes {
		s.C, s.O, s.Groups = 1, 1, 1
		s = withOutSize(s)
		x := randSlice[float64](r, s.N*s.H*s.W)
		// Ties, signed zeros, infinities and NaNs.
		for k := range x {
			switch r.IntN(8) {
			case 0:
				x[k] = 1
			case 1:
				x[k] = math.Copysign(0, float64(r.IntN(2)*2-1))
			case 2:
				x[k] = math.Inf(r.IntN(2)*2 - 1)
			case 3:
				if r.IntN(4) == 0 {
					x[k] = math.NaN()
				}
			}
		}
		y := make([]float64, s.N*s.OH*s.OW)
		idx := make([]int32, len(y))
		MaxPool2d(s, x, y, idx)
		wy, widx := naiveMaxPool(&s, x)
		if !slices.Equal(idx, widx) {
			t.Fatalf("shape %d: indices %v, want %v", i, idx, widx)
		}
		for k := range y {
			if math.Float64bits(y[k]) != math.Float64bits(wy[k]) && !(math.IsNaN(y[k]) && math.IsNaN(wy[k])) {
				t.Fatalf("shape %d: y[%d] = %v, want %v", i, k, y[k], wy[k])
			}
		}
		// float32 picks the same positions.
		x32 := make([]float32, len(x))
		for k, v := range x {
			x32[k] = float32(v)
		}
		y32 := make([]float32, len(y))
		idx32 := make([]int32, len(y))
		MaxPool2d(s, x32, y32, idx32)
		if !slices.Equal(idx32, widx) {
			t.Fatalf("shape %d: float32 indices %v, want %v", i, idx32, widx)
		}
		// Scatter and gather are adjoint: <scatter(g), v> = <g, gather(v)>.
		g := randSlice[float64](r, len(y))
		v := randSlice[float64](r, len(x))
		gx := make([]float64, len(x))
		for k := range gx {
			gx[k] = math.NaN()
		}
		PoolScatter(s, g, idx, gx)
		gv := make([]float64, len(y))
		PoolGather(s, v, idx, gv)
		if a, b := dot(gx, v), dot(g, gv); math.Abs(a-b) > 1e-12*math.Max(1, math.Abs(a)) {
			t.Fatalf("shape %d: <scatter(g), v> = %v, <g, gather(v)> = %v", i, a, b)
		}
		for k, q := range idx {
			if q < 0 && gv[k] != 0 {
				t.Fatalf("shape %d: gather of an empty window gave %v", i, gv[k])
			}
		}
	}
}
