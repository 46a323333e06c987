package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// tempPattern names the temporary files of a save: hidden, in the target's
// directory (a rename is atomic only within one file system), and
// recognisable, so that one left behind by a crash can be found and
// removed.
func tempPattern(base string) string { return "." + base + ".tmp-*" }

// WriteFileAtomic writes a file through write and moves it to path only
// once it is complete and on disk:
//
//  1. create a temporary file beside path;
//  2. write it, flush, fsync and close it;
//  3. rename it over path (atomic on POSIX file systems);
//  4. fsync the directory, so the rename itself survives a power cut.
//
// On any error before the rename the temporary file is removed and a file
// already at path is left untouched; a crash leaves at most a stray
// temporary file, never a partial file under path's name.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	// Write through a symlink to the file it names, as a plain overwrite
	// would, rather than replacing the link with a file.
	if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if real, eerr := filepath.EvalSymlinks(path); eerr == nil {
			path = real
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("writing %q: not a file name", path)
	}
	// Keep the permissions of the file being replaced; a new file gets the
	// usual 0644 rather than CreateTemp's 0600.
	perm := fs.FileMode(0o644)
	if fi, serr := os.Stat(path); serr == nil {
		if fi.IsDir() {
			return fmt.Errorf("writing %s: is a directory", path)
		}
		perm = fi.Mode().Perm()
	}

	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil && tmp != "" {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	closed = true
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp = ""
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power
		// cut is in doubt, so report it without undoing the save.
		return fmt.Errorf("writing %s: written, but syncing the directory failed: %w", path, err)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename in it is durable. Windows
// cannot open directories for syncing and orders renames itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory at all; there is nothing
	// more to be done there.
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}
