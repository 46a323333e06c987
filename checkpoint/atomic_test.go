package checkpoint

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// A successful save removes the temporary files that crashed saves of the
// same target left, and nothing else: not another target's, not a file
// whose name only looks similar.
func TestSaveRemovesStaleTemps(t *testing.T) {
	dir, path, _ := setup(t)
	stale := []string{".model.safetensors.tmp-123", ".model.safetensors.tmp-4294967295"}
	keep := []string{
		".model.safetensors.tmp-",         // no number
		".model.safetensors.tmp-12x",      // not only digits
		".other.safetensors.tmp-123",      // another target's
		".model.safetensors.tmp-1.bak",    // a user's file
		"model.safetensors.tmp-123",       // not hidden
		"x.model.safetensors.tmp-123",     // another prefix
		".model.safetensors.tmp-123~",     // an editor's backup
		".model.safetensorsX.tmp-123",     // a longer base
		".model.safetensors.tmp-123.orig", // ditto
	}
	for _, n := range append(append([]string{}, stale...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a temporary file's name is not ours to remove.
	if err := os.Mkdir(filepath.Join(dir, ".model.safetensors.tmp-77"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".model.safetensors.tmp-77")
	if err := Save(path, map[string]*backprop.Tensor{"w": backprop.Zeros(2)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s not removed (%v)", n, err)
		}
	}
	for _, n := range keep {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
}

// A failed save leaves the stale files alone too: only a save that
// completes tidies.
func TestFailedSaveKeepsStaleTemps(t *testing.T) {
	dir, path, old := setup(t)
	stale := filepath.Join(dir, ".model.safetensors.tmp-42")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := WriteFileAtomic(path, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Error("a failed save removed a stale file")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Error("the failed save changed the file")
	}
}

// A target whose name is near the file-name limit still saves (the
// temporary name is shortened) and its stale files are still found.
func TestSaveLongName(t *testing.T) {
	dir := t.TempDir()
	base := strings.Repeat("n", 240) + ".safetensors"
	path := filepath.Join(dir, base)
	stale := filepath.Join(dir, tempPrefix(base)+"99")
	if len(filepath.Base(stale)) > 255 {
		t.Fatalf("temporary name of %d bytes", len(filepath.Base(stale)))
	}
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, map[string]*backprop.Tensor{"w": backprop.Ones(2)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale file of a long name not removed: %v", err)
	}
	// Two long names that differ only past the cut keep apart.
	other := strings.Repeat("n", 240) + ".safetensorz"
	if tempPrefix(other) == tempPrefix(base) || isTempOf(filepath.Base(stale), other) {
		t.Error("two long names share their temporary files")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	before := func() []string {
		es, _ := os.ReadDir(dir)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	listing := before()
	for _, p := range []string{
		filepath.Join(dir, "new.safetensors"),
		filepath.Join(dir, "file"),
		filepath.Join(dir, "a", "b", "new.safetensors"), // folders still to make
	} {
		if err := CheckWritable(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{
		filepath.Join(dir, "sub"),                   // a directory
		filepath.Join(dir, "file", "x.safetensors"), // under a file
	} {
		if err := CheckWritable(p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
	if got := before(); !slices.Equal(got, listing) {
		t.Errorf("CheckWritable left files: %v, before %v", got, listing)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Error("CheckWritable made a folder")
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if err := CheckWritable(filepath.Join(ro, "m.safetensors")); err == nil {
			t.Error("read-only folder: no error")
		}
	}
}
