package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyCorpus writes a small text file for the language-model commands.
func tinyCorpus(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "corpus.txt")
	text := strings.Repeat("func main() { fmt.Println(\"hello, world\") }\n", 40)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var tinyTextFlags = []string{"--data", "text", "--layers", "1", "--heads", "2", "--embd", "16", "--context", "8", "--batch", "4", "--progress=false"}

func TestTrainTextResumeAndSample(t *testing.T) {
	corpus := tinyCorpus(t)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.safetensors")
	half := filepath.Join(dir, "half.safetensors")
	for _, model := range []string{"gpt", "lstm"} {
		args := append([]string{"train", "--model", model, "--text", corpus, "--steps", "8", "--eval-every", "4"}, tinyTextFlags...)
		stdout, _ := trainOK(t, append(args, "--out", whole)...)
		if !strings.Contains(stdout, "validation loss") || !strings.Contains(stdout, "after 8 steps") {
			t.Fatalf("train output %q", stdout)
		}
		trainOK(t, append(args, "--out", half, "--stop-after", "4")...)
		if st := loadState(t, half); st.Step != 4 {
			t.Fatalf("stopped at step %d, want 4", st.Step)
		}
		trainOK(t, "train", "--resume", half, "--progress=false")
		a, b := loadState(t, whole), loadState(t, half)
		if d := sameTensors(a.Model, b.Model); len(d) > 0 {
			t.Fatalf("%s: resumed run differs from the whole one: %v", model, d)
		}
		if d := sameTensors(a.Optim, b.Optim); len(d) > 0 {
			t.Fatalf("%s: optimizer state differs: %v", model, d)
		}

		code, out1, errOut := cli(t, "", "sample", "--model", whole, "--prompt", "func", "--tokens", "30", "--seed", "5")
		if code != 0 {
			t.Fatalf("sample: %d %s", code, errOut)
		}
		_, out2, _ := cli(t, "", "sample", "--model", whole, "--prompt", "func", "--tokens", "30", "--seed", "5")
		if out1 != out2 || !strings.HasPrefix(out1, "func") || len(out1) != len("func")+30+1 {
			t.Fatalf("sample not deterministic or wrong length: %q vs %q", out1, out2)
		}
		_, out3, _ := cli(t, "", "sample", "--model", whole, "--prompt", "func", "--tokens", "30", "--seed", "6")
		if out3 == out1 {
			t.Fatalf("seeds 5 and 6 gave the same text %q", out1)
		}

		code, js, errOut := cli(t, "", "eval", "--model", whole, "--json")
		if code != 0 {
			t.Fatalf("eval: %s", errOut)
		}
		var r struct {
			ValLoss float64 `json:"val_loss"`
			Tokens  int     `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(js), &r); err != nil || r.Tokens == 0 || !(r.ValLoss > 0 && r.ValLoss < 5) {
			t.Fatalf("eval --json %q: %v", js, err)
		}
	}
	// The corpus changed: eval refuses it.
	if err := os.WriteFile(corpus, []byte("something else entirely, long enough to matter"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "", "eval", "--model", whole, "--json")
	wantError(t, code, stdout, stderr, 1, "has changed since")
}

func TestTrainTextErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	bin := filepath.Join(dir, "b.bin")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(bin, []byte("abc\x00def"), 0o644)
	corpus := tinyCorpus(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--text", filepath.Join(dir, "missing.txt")}, "does not exist"},
		{[]string{"--text", empty}, "is empty"},
		{[]string{"--text", bin}, "NUL byte"},
		{[]string{"--text", corpus, "--model", "cnn"}, "unknown text model"},
		{[]string{"--text", corpus, "--heads", "3"}, "divide --embd"},
		{[]string{"--text", corpus, "--epochs", "3"}, "--epochs does not apply"},
		{[]string{"--text", corpus, "--steps", "0"}, "--steps 0 must be positive"},
	} {
		code, stdout, stderr := cli(t, "", append([]string{"train", "--data", "text", "--progress=false", "--out", filepath.Join(dir, "x.safetensors")}, tc.args...)...)
		wantError(t, code, stdout, stderr, 1, tc.want)
	}
	code, stdout, stderr := cli(t, "", "train", "--steps", "3")
	wantError(t, code, stdout, stderr, 1, "--steps applies only with --data text")

	// An --out that cannot be written is refused before any step runs, as
	// for the image models: in /proc (its folder exists, even root cannot
	// create a file there), and a folder.
	for _, out := range []string{"/proc/backprop-test.safetensors", dir} {
		code, stdout, stderr = cli(t, "", append([]string{"train", "--text", corpus, "--steps", "2", "--out", out}, tinyTextFlags...)...)
		wantError(t, code, stdout, stderr, 1, "--out")
		if strings.Contains(stdout+stderr, "validation loss") {
			t.Errorf("--out %s: training ran before the output was refused:\n%s%s", out, stdout, stderr)
		}
	}

	path := filepath.Join(dir, "m.safetensors")
	trainOK(t, append([]string{"train", "--text", corpus, "--steps", "2", "--out", path}, tinyTextFlags...)...)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--prompt", "ZZZ"}, "not in the vocabulary"},
		{[]string{"--tokens", "-1"}, "--tokens -1"},
		{[]string{"--temperature", "-1"}, "--temperature -1"},
		{[]string{"--top-k", "-2"}, "--top-k -2"},
		{[]string{}, ""},
	} {
		args := append([]string{"sample", "--model", path}, tc.args...)
		if tc.want == "" {
			args = []string{"sample"}
			tc.want = "sample needs --model FILE"
		}
		code, stdout, stderr := cli(t, "", args...)
		wantError(t, code, stdout, stderr, 1, tc.want)
	}
}

// TestTrainTextServe trains a language model with --serve and a client on
// the page's event stream from before the first step: the loss points, the
// validation losses and a sample of generated text at each evaluation
// arrive.
func TestTrainTextServe(t *testing.T) {
	corpus := tinyCorpus(t)
	events, url := followTraining(t)
	args := append([]string{"train", "--text", corpus, "--steps", "6", "--eval-every", "3",
		"--out", filepath.Join(t.TempDir(), "t.safetensors"), "--serve", "--addr", "127.0.0.1:0", "--serve-exit"}, tinyTextFlags...)
	stdout, stderr := trainOK(t, args...)
	if !strings.HasPrefix(stderr, "backprop: training page at "+*url+"\n") || !strings.Contains(stdout, "after 6 steps") {
		t.Errorf("stdout %q, stderr:\n%s", stdout, stderr)
	}
	evs := collect(t, events)
	count := map[string]int{}
	var samples []string
	for _, ev := range evs {
		count[ev.kind]++
		switch ev.kind {
		case "run":
			if !strings.Contains(ev.data, `"text":true`) {
				t.Errorf("run event %s", ev.data)
			}
		case "point":
			var p struct {
				Step int      `json:"step"`
				Loss *float64 `json:"loss"`
			}
			if err := json.Unmarshal([]byte(ev.data), &p); err != nil || p.Loss == nil || *p.Loss <= 0 || p.Step < 1 || p.Step > 6 {
				t.Errorf("point %s: %v", ev.data, err)
			}
		case "epoch":
			var m struct {
				Step    int      `json:"epoch"`
				ValLoss *float64 `json:"test_loss"`
			}
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil || m.ValLoss == nil || *m.ValLoss <= 0 || m.Step%3 != 0 {
				t.Errorf("evaluation %s: %v", ev.data, err)
			}
		case "sample":
			var s struct {
				Text string `json:"text"`
			}
			if err := json.Unmarshal([]byte(ev.data), &s); err != nil || len(s.Text) == 0 {
				t.Errorf("sample %s: %v", ev.data, err)
			}
			samples = append(samples, s.Text)
		}
	}
	// Every step is a point (6 steps, fewer than 200); two evaluations.
	last := evs[len(evs)-1]
	if count["run"] != 1 || count["point"] != 6 || count["epoch"] != 2 || count["sample"] < 1 ||
		last.kind != "status" || !strings.Contains(last.data, `"state":"finished"`) {
		t.Errorf("events %v, the last %v", count, last)
	}
}
