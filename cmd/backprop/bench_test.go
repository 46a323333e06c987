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
