package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lines is a writer that hands each line written to it to a channel, so
// a test can wait for the server's URL.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	c   chan string
}

func newLines() *lines { return &lines{c: make(chan string, 16)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			// An incomplete line: keep it for the next write.
			rest := []byte(line)
			l.buf.Reset()
			l.buf.Write(rest)
			return len(p), nil
		}
		l.c <- strings.TrimSuffix(line, "\n")
	}
}

func (l *lines) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.c:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no output from the server")
		return ""
	}
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/`)

// checkServing checks that the explorer answers at url.
func checkServing(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "backprop explorer") {
		t.Errorf("GET %s: %d %.80q", url, resp.StatusCode, page)
	}
	resp, err = http.Post(url+"api/grad", "application/json", strings.NewReader(`{"expr": "(x+y)*z", "vars": "x=-2 y=5 z=-4"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"grad":{"x":-4,"y":-4,"z":3}`) {
		t.Errorf("POST /api/grad: %d %.200s", resp.StatusCode, body)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	out := newLines()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, out, "127.0.0.1:0") }()
	first := out.next(t)
	url := urlRE.FindString(first)
	if url == "" || !strings.HasPrefix(first, "backprop: explorer at http://127.0.0.1:") {
		t.Fatalf("first line %q: want the URL", first)
	}
	checkServing(t, url)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
	if last := out.next(t); last != "backprop: stopped" {
		t.Errorf("last line %q", last)
	}
}

// TestServeSIGINT runs the whole command and stops it as Ctrl-C would.
func TestServeSIGINT(t *testing.T) {
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	out := newLines()
	var errb bytes.Buffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"serve", "--addr", "127.0.0.1:0"}, strings.NewReader(""), out, &errb) }()
	url := urlRE.FindString(out.next(t))
	if url == "" {
		t.Fatal("no URL printed")
	}
	checkServing(t, url)
	// The command catches SIGINT from before it listens, so the signal
	// cannot reach the test binary's default handler.
	if err := self.Signal(os.Interrupt); err != nil {
		t.Skipf("cannot send SIGINT here: %v", err)
	}
	select {
	case c := <-code:
		if c != 0 || errb.Len() != 0 {
			t.Errorf("exit status %d, stderr %q", c, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not stop the server")
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("the server still answers after SIGINT")
	}
}

func TestServeErrors(t *testing.T) {
	code, stdout, stderr := cli(t, "", "serve", "--addr", "nonsense")
	wantError(t, code, stdout, stderr, 1, "cannot listen on nonsense")

	// A port in use.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, stdout, stderr = cli(t, "", "serve", "--addr", ln.Addr().String())
	wantError(t, code, stdout, stderr, 1, "cannot listen on "+ln.Addr().String())

	code, stdout, stderr = cli(t, "", "serve", "extra")
	wantError(t, code, stdout, stderr, 1, "unknown command \"extra\"")
}

func TestServeHelp(t *testing.T) {
	code, stdout, _ := cli(t, "", "serve", "--help")
	if code != 0 || !strings.Contains(stdout, "--addr HOST:PORT") || !strings.Contains(stdout, "127.0.0.1:8080") {
		t.Errorf("serve --help: %d\n%s", code, stdout)
	}
}

func TestServeURL(t *testing.T) {
	cases := []struct {
		ip, asked, want string
		everywhere      bool
	}{
		{"127.0.0.1", "127.0.0.1:8080", "http://127.0.0.1:8080/", false},
		{"::", ":8080", "http://127.0.0.1:8080/", true},
		{"0.0.0.0", "0.0.0.0:8080", "http://127.0.0.1:8080/", true},
		{"::", "[::]:8080", "http://[::1]:8080/", true},
		{"::1", "[::1]:8080", "http://[::1]:8080/", false},
		{"192.168.1.5", "192.168.1.5:8080", "http://192.168.1.5:8080/", false},
	}
	for _, c := range cases {
		url, everywhere := serveURL(&net.TCPAddr{IP: net.ParseIP(c.ip), Port: 8080}, c.asked)
		if url != c.want || everywhere != c.everywhere {
			t.Errorf("serveURL(%s, %q) = %q, %v; want %q, %v", c.ip, c.asked, url, everywhere, c.want, c.everywhere)
		}
	}
}
