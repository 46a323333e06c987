package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// --out naming a device node (made in a temporary folder with /dev/null's
// numbers) trains, writes into the device, and leaves it a device, with no
// CSV or plot beside it. The summary goes to stderr, so --out /dev/stdout
// gets the checkpoints alone.
func TestTrainOutDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: making a device node (mknod) needs root")
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/null", &st); err != nil {
		t.Skip("skipped: no /dev/null:", err)
	}
	tmp := t.TempDir()
	node := filepath.Join(tmp, "null")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, int(st.Rdev)); err != nil {
		t.Skipf("skipped: mknod: %v", err)
	}
	if f, err := os.OpenFile(node, os.O_WRONLY, 0); err != nil {
		t.Skipf("skipped: the node does not open (nodev mount?): %v", err)
	} else {
		f.Close()
	}
	out, errs := trainOK(t, "train", "--model", "softmax", "--epochs", "2", "--data-dir", tinyMNIST(t), "--out", node, "--progress=false")
	if out != "" || !strings.Contains(errs, "after 2 epochs; wrote the checkpoints into "+node) {
		t.Errorf("stdout %q, stderr %q", out, errs)
	}
	if fi, err := os.Stat(node); err != nil || fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
		t.Errorf("the node is now %v (%v)", fi, err)
	}
	if es, _ := os.ReadDir(tmp); len(es) != 1 {
		t.Errorf("files beside the device: %v", es)
	}
	// grad's --svg and --dot likewise.
	if _, errs := trainOK(t, "grad", "--svg", node, "--dot", node, "x*y", "x=1", "y=2"); errs != "" {
		t.Errorf("grad stderr %q", errs)
	}
	if fi, _ := os.Stat(node); fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
		t.Errorf("grad replaced the node: %v", fi.Mode())
	}
}

// grad --svg into a named pipe, as a shell's >(cat) gives one: the reader
// gets the whole picture and the pipe stays a pipe.
func TestGradSVGToPipe(t *testing.T) {
	tmp := t.TempDir()
	pipe := filepath.Join(tmp, "svg")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(pipe)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	trainOK(t, "grad", "--svg", pipe, "(x+y)*z", "x=-2", "y=5", "z=-4")
	b := <-got
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<svg")) && !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<?xml")) || !bytes.Contains(b, []byte("</svg>")) {
		t.Errorf("the reader got %q", b)
	}
	if fi, err := os.Stat(pipe); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("the pipe is now %v (%v)", fi, err)
	}
}
