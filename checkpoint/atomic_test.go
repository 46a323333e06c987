package checkpoint

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobackprop/backprop"
)

// setup writes an old checkpoint into a fresh directory and returns the
// directory, the file's path and its bytes.
func setup(t *testing.T) (dir, path string, old []byte) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "model.safetensors")
	if err := Save(path, map[string]*backprop.Tensor{"w": backprop.Ones(2, 2)}, map[string]string{"v": "old"}); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return dir, path, old
}

// checkIntact asserts that path still holds old and that no temporary
// file is left in dir.
func checkIntact(t *testing.T, dir, path string, old []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, old) {
		t.Error("the old checkpoint was changed")
	}
	if _, _, err := Load(path); err != nil {
		t.Errorf("old checkpoint no longer loads: %v", err)
	}
	checkNoTemp(t, dir)
}

func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// A write that fails part way, after more than the write buffer has
// reached the temporary file, leaves the old file as it was.
func TestAtomicWriteFailure(t *testing.T) {
	dir, path, old := setup(t)
	boom := errors.New("injected failure")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 3<<20)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the injected error", err)
	}
	checkIntact(t, dir, path, old)
}

// Save with input that Write rejects leaves no trace.
func TestSaveRejectedInput(t *testing.T) {
	dir, path, old := setup(t)
	err := Save(path, map[string]*backprop.Tensor{"a": backprop.Ones(3), "b": nil}, nil)
	if err == nil {
		t.Fatal("no error for a nil tensor")
	}
	checkIntact(t, dir, path, old)
}

func TestSaveReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir, path, old := setup(t)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	err := Save(path, map[string]*backprop.Tensor{"w": backprop.Zeros(2, 2)}, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
	checkIntact(t, dir, path, old)
}

func TestSaveMissingDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "m.safetensors")
	if err := Save(path, nil, nil); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v", err)
	}
}

func TestSaveOverDirectory(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "sub")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Save(target, nil, nil); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("got %v", err)
	}
	checkNoTemp(t, dir)
}

// A new save replaces the old file, keeping its permissions; a new file
// gets 0644 rather than the temporary file's 0600.
func TestSaveReplaces(t *testing.T) {
	dir, path, _ := setup(t)
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file has mode %v, want 0644", fi.Mode().Perm())
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, map[string]*backprop.Tensor{"w": backprop.Zeros(3)}, map[string]string{"v": "new"}); err != nil {
		t.Fatal(err)
	}
	ts, md, err := Load(path)
	if err != nil || md["v"] != "new" || ts["w"].Numel() != 3 {
		t.Fatalf("after replacing: %v %v %v", ts, md, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old 0640", fi.Mode().Perm())
	}
	checkNoTemp(t, dir)
}

// Saving through a symlink writes the file it points to and keeps the
// link.
func TestSaveThroughSymlink(t *testing.T) {
	dir, path, _ := setup(t)
	link := filepath.Join(dir, "latest.safetensors")
	if err := os.Symlink(path, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := Save(link, nil, map[string]string{"v": "via link"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced: %v %v", fi, err)
	}
	if _, md, err := Load(path); err != nil || md["v"] != "via link" {
		t.Errorf("target: %v %v", md, err)
	}
}

// A process killed in the middle of a save leaves the old checkpoint
// whole. The test runs itself as a child that dies (os.Exit runs no
// deferred cleanup, as a crash would not) half way through writing.
func TestCrashDuringSave(t *testing.T) {
	if target := os.Getenv("CHECKPOINT_CRASH_TARGET"); target != "" {
		WriteFileAtomic(target, func(w io.Writer) error {
			w.Write(make([]byte, 3<<20)) // more than the buffer: bytes hit the disk
			os.Exit(3)
			return nil
		})
		os.Exit(4) // not reached
	}
	dir, path, old := setup(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringSave$")
	cmd.Env = append(os.Environ(), "CHECKPOINT_CRASH_TARGET="+path)
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v, want exit status 3", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("old checkpoint changed by the crash: %v", err)
	}
	// The crash leaves its partial temporary file, under a name that is
	// not the target's and that a reader can recognise.
	matches, _ := filepath.Glob(filepath.Join(dir, tempPattern("model.safetensors")))
	if len(matches) != 1 {
		t.Fatalf("temporary files: %v, want the one the crash left", matches)
	}
	if fi, _ := os.Stat(matches[0]); fi.Size() < 3<<20 {
		t.Errorf("temporary file has %d bytes; the child should have written more", fi.Size())
	}
}
