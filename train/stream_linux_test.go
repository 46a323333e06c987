package train

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gobackprop/backprop/internal/synthetic"
)

// Saving to a named pipe writes the checkpoint into it and nothing
// beside it (no .csv or .png next to the pipe); the pipe stays a pipe.
func TestSaveToPipe(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "run")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	cfg, _ := Defaults("softmax")
	cfg.Epochs, cfg.Batch = 1, 16
	tr, err := New(cfg, synthetic.Images(32, 6, 1), synthetic.Images(16, 6, 2))
	if err != nil {
		t.Fatal(err)
	}
	n := make(chan int64, 1)
	go func() {
		f, err := os.Open(pipe)
		if err != nil {
			n <- -1
			return
		}
		defer f.Close()
		k, _ := io.Copy(io.Discard, f)
		n <- k
	}()
	if err := tr.Run(context.Background(), pipe, nil); err != nil {
		t.Fatal(err)
	}
	if k := <-n; k < 100 {
		t.Errorf("the reader got %d bytes", k)
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Errorf("files beside the pipe: %v", es)
	}
	if fi, err := os.Stat(pipe); err != nil || fi.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("the pipe is now %v (%v)", fi, err)
	}
}
