package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGradSVG(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.svg")
	var out, errb bytes.Buffer
	code := run([]string{"grad", "--svg", file, "(x+y)*z", "x=-2", "y=5", "z=-4"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	for _, want := range []string{"<svg", "-12", "-4", ">3<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if !strings.Contains(out.String(), "df/dz = 3") {
		t.Errorf("table not printed with --svg FILE: %s", out.String())
	}
	out.Reset()
	if code := run([]string{"grad", "--svg", "-", "x*2", "x=1"}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), "<svg") {
		t.Fatalf("--svg -: exit %d, %.80q", code, out.String())
	}
	errb.Reset()
	if code := run([]string{"grad", "--svg", "-", "--json", "x", "x=1"}, strings.NewReader(""), &out, &errb); code == 0 || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("conflicting outputs: exit %d, stderr %q", code, errb.String())
	}
}
