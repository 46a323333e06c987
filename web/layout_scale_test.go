package web

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/expr"
)

// pushDownByScan is the rule pushDown implements, as the layout first
// wrote it: scan the taken rows in any order, moving past each one closer
// than minVarDY, until a whole scan moves nothing. It takes time in the
// number of rows times the number of moves.
func pushDownByScan(taken []float64, row float64) float64 {
	for moved := true; moved; {
		moved = false
		for _, t := range taken {
			if math.Abs(row-t) < minVarDY-1e-9 {
				row = t + minVarDY
				moved = true
			}
		}
	}
	return row
}

func TestPushDownMatchesScan(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for it := 0; it < 50000; it++ {
		var taken []float64
		for range r.Intn(8) {
			v := float64(r.Intn(12)) + float64(r.Intn(4))/4 // rows of leaves and of means of leaves
			if r.Intn(3) == 0 {
				v = r.Float64() * 10
			}
			taken = append(taken, v)
		}
		row := float64(r.Intn(40)) / 4
		if r.Intn(3) == 0 {
			row = r.Float64() * 10
		}
		want := pushDownByScan(taken, row)
		sorted := slices.Clone(taken)
		slices.Sort(sorted)
		if got := pushDown(sorted, row); got != want {
			t.Fatalf("taken %v, row %v: pushDown %v, scanning %v", taken, row, got, want)
		}
	}
}

// terms is (x*y+z*0) + (x*y+z*1) + ...: n literals in the first column,
// and three variables whose mean rows fall among them.
func terms(tb testing.TB, n int) *expr.Result {
	tb.Helper()
	ts := make([]string, n)
	for i := range ts {
		ts[i] = fmt.Sprintf("(x*y+z*%d)", i%7)
	}
	ast, err := expr.Parse(strings.Join(ts, "+"))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := expr.Eval(ast, map[string]float64{"x": 1, "y": 2, "z": 3})
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// TestLayoutScales checks that the circuit of twice as many terms costs
// about twice as much to lay out, counted in allocated bytes (time is too
// noisy to test).
func TestLayoutScales(t *testing.T) {
	const n = 1000
	small, large := terms(t, n), terms(t, 2*n)
	alloc := func(r *expr.Result) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		layoutResult(r)
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	a, b := alloc(small), alloc(large)
	if ratio := float64(b) / float64(a); ratio > 2.6 {
		t.Errorf("twice the terms allocate %.2f times as much (%d -> %d bytes), want about 2", ratio, a, b)
	}
}

func BenchmarkLayout(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		res := terms(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				layoutResult(res)
			}
		})
	}
}
