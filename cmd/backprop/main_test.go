package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func init() {
	// A command that panics, only in the test binary, to check that run
	// turns a panic into one line and status 2.
	register(func() *cobra.Command {
		return &cobra.Command{
			Use:    "test-panic",
			Hidden: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				var m map[string]int
				m["boom"]++ // a runtime error, as a real bug would be
				return nil
			},
		}
	})
	register(func() *cobra.Command {
		return &cobra.Command{
			Use:    "test-error",
			Hidden: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return errors.New("first line\nsecond line")
			},
		}
	})
}

// cli runs the command line in-process.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// wantError checks the error path: status, nothing on stdout, and exactly
// one line "backprop: ..." on stderr that contains want.
func wantError(t *testing.T, code int, stdout, stderr string, wantCode int, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit status %d, want %d (stderr %q)", code, wantCode, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	if !strings.HasPrefix(stderr, "backprop: ") || !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q: want one line starting with \"backprop: \"", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want it to contain %q", stderr, want)
	}
}

func TestPanicIsOneLine(t *testing.T) {
	code, out, errs := cli(t, "", "test-panic")
	wantError(t, code, out, errs, 2, "backprop: internal error")
	if !strings.Contains(errs, "assignment to entry in nil map") || strings.Contains(errs, "goroutine") {
		t.Errorf("stderr %q", errs)
	}
}

func TestErrorIsOneLine(t *testing.T) {
	code, out, errs := cli(t, "", "test-error")
	wantError(t, code, out, errs, 1, "backprop: first line second line")
	code, out, errs = cli(t, "", "gard")
	wantError(t, code, out, errs, 1, `unknown command "gard"`)
	code, out, errs = cli(t, "", "--nope")
	wantError(t, code, out, errs, 1, "unknown flag: --nope")
}

func TestRootHelp(t *testing.T) {
	code, out, errs := cli(t, "")
	if code != 0 || errs != "" || !strings.Contains(out, "grad") {
		t.Errorf("status %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = cli(t, "", "--help")
	if code != 0 || errs != "" || !strings.Contains(out, "Usage:") || strings.Contains(out, "test-panic") {
		t.Errorf("status %d, stdout %q, stderr %q", code, out, errs)
	}
}
