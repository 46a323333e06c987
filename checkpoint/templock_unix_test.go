//go:build unix

package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// The temporary file of a save under way (here: held locked, as a live
// save holds its own) survives the tidying of another save of the same
// target; an unlocked one, which a crashed save left, does not.
func TestTidyingSparesLiveSaves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	live := filepath.Join(dir, ".model.safetensors.tmp-111")
	dead := filepath.Join(dir, ".model.safetensors.tmp-222")
	for _, p := range []string{live, dead} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := syscall.Flock(int(l.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the live save's temporary file was removed: %v", err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the abandoned temporary file is still there (%v)", err)
	}
}

// Saves of one target running at once (as from several processes: each
// save locks through a descriptor of its own, so goroutines contend as
// processes do) all succeed, the target ends as one of them wrote it,
// whole, and no temporary file is left. Before the locks, a save's tidying
// removed the others' files under way and they failed.
func TestConcurrentSavesOfOneTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	const writers, rounds = 8, 40
	content := func(w int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("writer %d;", w)), 4000) }
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				if err := WriteFileAtomic(path, func(out io.Writer) error { _, err := out.Write(content(w)); return err }); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := false
	for w := range writers {
		whole = whole || bytes.Equal(got, content(w))
	}
	if !whole {
		t.Errorf("the target holds %d bytes that no single save wrote", len(got))
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".model.safetensors.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
