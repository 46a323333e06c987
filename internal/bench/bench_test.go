package bench

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	if Median([]float64{3, 1, 2}) != 2 || Median([]float64{4, 1, 3, 2}) != 2.5 || Median(nil) != 0 {
		t.Fatal("median")
	}
}

func TestScalarChainMatchesTwin(t *testing.T) {
	_, _, y := ScalarChain(100_000)
	if math.Abs(y-2.30264) > 1e-5 { // the PyTorch twin's printed value
		t.Fatalf("y = %v", y)
	}
}

func TestGEMMRuns(t *testing.T) {
	g, err := GEMM(64, 48, 32, true, true, 2)
	if err != nil || len(g) != 2 || !(g[0] > 0) {
		t.Fatalf("%v %v", g, err)
	}
	if _, err := GEMM(0, 1, 1, false, false, 1); err == nil {
		t.Fatal("no error for m=0")
	}
}
