package synthetic

import "testing"

// The same seed gives the same set; the classes' bands are brighter.
func TestImages(t *testing.T) {
	a, b := Images(30, 6, 1), Images(30, 6, 1)
	x := make([]float32, 30*36)
	y := make([]int64, 30)
	x2 := make([]float32, 30*36)
	y2 := make([]int64, 30)
	idx := make([]int, 30)
	for i := range idx {
		idx[i] = i
	}
	a.Fill(idx, x, y)
	b.Fill(idx, x2, y2)
	for i := range x {
		if x[i] != x2[i] {
			t.Fatal("the same seed gave another set")
		}
	}
	for i, c := range y {
		var in, out float32
		for p := range 36 {
			if (p/6)*3/6 == int(c) {
				in += x[i*36+p]
			} else {
				out += x[i*36+p]
			}
		}
		if in/12 <= out/24+0.3 {
			t.Errorf("image %d of class %d: its band averages %v, the rest %v", i, c, in/12, out/24)
		}
	}
}
