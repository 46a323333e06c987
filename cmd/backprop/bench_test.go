package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchCommandsPrintOneJSONLine(t *testing.T) {
	corpus := tinyCorpus(t)
	for _, c := range []struct {
		args []string
		keys []string
	}{
		{[]string{"bench", "gemm", "--m", "32", "--n", "24", "--k", "16", "--reps", "1", "--threads", "1"}, []string{"gflops", "m", "n", "k", "threads"}},
		{[]string{"bench", "autograd", "--ops", "400", "--reps", "1"}, []string{"ns_per_op_fwd", "ns_per_op_bwd"}},
		{[]string{"bench", "train", "--model", "mlp", "--batch", "16", "--iters", "3", "--warmup", "1"}, []string{"images_per_s", "ms_per_step", "allocs_per_step"}},
		{[]string{"bench", "train", "--model", "gpt", "--text", corpus, "--batch", "2", "--steps", "3", "--warmup", "1"}, []string{"tokens_per_s", "ms_per_step", "val_loss", "peak_rss_mib"}},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errb.String())
		}
		if strings.Count(out.String(), "\n") != 1 {
			t.Fatalf("%v: want one line, got %q", c.args, out.String())
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range c.keys {
			if v, ok := m[k].(float64); !ok || !(v > 0) {
				t.Errorf("%v: %s = %v", c.args, k, m[k])
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "gemm", "--m", "-1"}, strings.NewReader(""), &out, &errb); code != 1 || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("bad size: exit %d, stderr %q", code, errb.String())
	}
}

// Bad bench command lines are one clear line and a non-zero status, never
// a help page with status 0 or an out-of-memory crash.
func TestBenchErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "foo"}, `unknown benchmark "foo" (have allreduce, autograd, gemm, train)`},
		{[]string{"bench", "gemn"}, "did you mean gemm?"},
		{[]string{"bench", "gemm", "--threads", "0"}, "--threads 0: want at least 1"},
		{[]string{"bench", "gemm", "--threads", "-2"}, "--threads -2: want at least 1"},
		{[]string{"bench", "autograd", "--ops", "1000000000000"}, "autograd --ops 1000000000000 needs 465.7 TiB of memory"},
		{[]string{"bench", "gemm", "--m", "100000000", "--n", "100000000", "--k", "100000000"}, "needs 106.6 PiB of memory"},
		{[]string{"bench", "gemm", "--m", "4611686018427387904", "--n", "4", "--k", "4"}, "more memory than a 64-bit machine can address"},
		{[]string{"bench", "train", "--threads", "0"}, "--threads 0: want at least 1"},
		{[]string{"bench", "train", "--iters", "4611686018427387904", "--batch", "4"}, "need more training images than MNIST's 60000"},
		{[]string{"bench", "train", "--iters", "1", "--batch", "9223372036854775807"}, "need more training images than MNIST's 60000"},
	} {
		if strings.Contains(c.want, "iB of memory") {
			if limit, _ := availableMemory(); limit == 0 {
				t.Logf("%v: not checked, this system does not say how much memory it has", c.args)
				continue
			}
		}
		code, out, errs := cli(t, "", c.args...)
		wantError(t, code, out, errs, 1, c.want)
	}
	// Bare "bench" lists the benchmarks; the help names the real script.
	code, out, _ := cli(t, "", "bench")
	if code != 0 || !strings.Contains(out, "gemm") || !strings.Contains(out, "scripts/compare.py") {
		t.Errorf("bench: status %d, %q", code, out)
	}
}

func TestBytesFor(t *testing.T) {
	if b, ok := bytesFor(100000, 100000, 4); !ok || b != 4e10 {
		t.Errorf("bytesFor = %d %v", b, ok)
	}
	if _, ok := bytesFor(1<<32, 1<<32); ok {
		t.Error("2^64 did not overflow")
	}
	if _, ok := sumBytes(1<<63, 1<<63); ok {
		t.Error("sum did not overflow")
	}
	// The gemm case of the report exceeds this machine's memory by the
	// figure it reads; it is refused whatever that figure, if there is one.
	if limit, from := availableMemory(); limit > 0 {
		if err := checkMemory("x", 1<<62, true); err == nil || !strings.Contains(err.Error(), from) {
			t.Errorf("checkMemory: %v", err)
		}
		if err := checkMemory("x", 1<<20, true); err != nil && limit > 1<<20 {
			t.Errorf("1 MiB refused: %v", err)
		}
	}
}
