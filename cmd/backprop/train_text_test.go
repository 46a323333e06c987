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
