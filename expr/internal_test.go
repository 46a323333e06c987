package expr

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// appendNum must write exactly what encoding/json writes for a float64.
func TestAppendNumMatchesEncodingJSON(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, -12, 3, 1e20, 1e21, 123456789e13, 1e-6, 9.99e-7, 1e-7,
		-1e-7, 1.5e-10, 1e-100, 5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		0.7310585786300049, -0.19661193324148188, 100000, 1.0000000000000002}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		vals = append(vals, math.Float64frombits(r.Uint64()))
		vals = append(vals, r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)))
	}
	for _, v := range vals {
		got := string(appendNum(nil, v))
		if !finite(v) {
			if got != "null" {
				t.Errorf("%v: %s, want null", v, got)
			}
			continue
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%v: %s, encoding/json %s", v, got, want)
		}
	}
	for _, s := range []string{"x", "n1", `a"b\c`, "tab\there", "a\nb\rc\bd\fe\x01f", "é", "\xff"} {
		want, _ := json.Marshal(s)
		if got := string(appendString(nil, s)); got != string(want) {
			t.Errorf("%q: %s, encoding/json %s", s, got, want)
		}
	}
}

func TestNestingLimit(t *testing.T) {
	defer func(d int) { maxDepth = d }(maxDepth)
	maxDepth = 50
	if _, err := Parse(strings.Repeat("(", 50) + "x" + strings.Repeat(")", 50)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	for _, src := range []string{
		strings.Repeat("(", 51) + "x" + strings.Repeat(")", 51),
		strings.Repeat("exp(", 51) + "x" + strings.Repeat(")", 51),
	} {
		_, err := Parse(src)
		e, ok := err.(*Error)
		if !ok || !strings.Contains(e.Msg, "nests more than 50 levels") || e.Col < 51 {
			t.Errorf("past the limit: %v", err)
		}
	}
}
