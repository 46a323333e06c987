package web

import (
	"fmt"
	"os"
)

// noticeSkippedBrowserTests says, where a person will see it, that the
// browser tests were skipped for want of Chromium. A t.Skip message shows
// only with -v, and go test ./... hides all output of a package that
// passes, standard error included; so the notice also goes to the
// terminal (/dev/tty) when there is one. In CI (no terminal) a missing
// Chromium fails the tests instead, so nothing is lost there.
func noticeSkippedBrowserTests() {
	if chromiumPath() != "" || os.Getenv("CI") != "" {
		return
	}
	const msg = "backprop/web: NOTICE: the browser tests were SKIPPED: Chromium not found " +
		"(install Debian's chromium, e.g. with .ci/install-chromium.sh, or set CHROMIUM to its path)"
	fmt.Fprintln(os.Stderr, msg)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(tty, msg)
		tty.Close()
	}
}
