package checkpoint

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// maxTempBase bounds the target's name inside a temporary file's name, so
// that ".NAME.tmp-123456789" stays within the usual 255-byte limit on a
// file name even when NAME itself is near it.
const maxTempBase = 200

// tempPrefix is the start of the names of the temporary files of a save
// of base: hidden, in the target's directory (a rename is atomic only
// within one file system), and recognisable, so that one left behind by a
// crash can be found and removed. A long name is cut and completed with a
// hash of the whole, which keeps the prefix of one target apart from every
// other's.
func tempPrefix(base string) string {
	if len(base) > maxTempBase {
		sum := sha256.Sum256([]byte(base))
		base = base[:maxTempBase-17] + "~" + hex.EncodeToString(sum[:8])
	}
	return "." + base + ".tmp-"
}

// tempPattern is the os.CreateTemp pattern of base's temporary files: the
// prefix and a random decimal number.
func tempPattern(base string) string { return tempPrefix(base) + "*" }

// isTempOf reports whether name is the name of a temporary file of a save
// of base: the exact prefix followed by digits only (os.CreateTemp's
// random part), so that no other file is ever taken for one.
func isTempOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// WriteFileAtomic writes a file through write. A regular file (or a new
// one) is written atomically:
//
//  1. create a temporary file beside path;
//  2. write it, flush, fsync and close it;
//  3. rename it over path (atomic on POSIX file systems);
//  4. fsync the directory, so the rename itself survives a power cut;
//  5. remove the temporary files that earlier saves of the same path left
//     behind when they crashed (only those: see isTempOf; a save under
//     way holds a lock on its own, which keeps it from being taken).
//
// On any error before the rename the temporary file is removed and a file
// already at path is left untouched; a crash leaves at most a stray
// temporary file, never a partial file under path's name.
//
// A path that exists and is not a regular file, itself or through
// symlinks, is never replaced: a named pipe, a character or block device
// (/dev/null, /dev/stdout) or /dev/fd/N is opened for writing and written
// in one stream, with no temporary file and no rename, so it stays what it
// was. Every format this module writes (safetensors, CSV, PNG, SVG, DOT)
// is written front to back and streams well. A socket or a directory is
// refused with an error.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
		return writeSpecial(path, fi, write)
	}
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
		perm = fi.Mode().Perm()
	}

	f, unlock, err := createLockedTemp(dir, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer unlock()
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
	removeStaleTemps(dir, base)
	if err := syncDir(dir); err != nil {
		// The new file is in place; only its durability across a power
		// cut is in doubt, so report it without undoing the save.
		return fmt.Errorf("writing %s: written, but syncing the directory failed: %w", path, err)
	}
	return nil
}

// createLockedTemp creates a temporary file for a save of base in dir and
// takes its lock (templock_unix.go), starting over in the rare case that
// a tidying save removed the new file before the lock was taken.
func createLockedTemp(dir, base string) (f *os.File, unlock func(), err error) {
	for {
		f, err := os.CreateTemp(dir, tempPattern(base))
		if err != nil {
			return nil, nil, err
		}
		unlock, ok, err := lockTemp(f)
		if ok {
			return f, unlock, nil
		}
		f.Close()
		os.Remove(f.Name())
		if err != nil {
			return nil, nil, err
		}
	}
}

// removeStaleTemps removes the temporary files of earlier saves of base
// in dir: a save that crashed (a kill, a power cut) left them there, and
// nothing else would ever remove them. Only regular files whose names
// match exactly are touched, and of those only the ones no save under way
// holds locked, so that saves of one target running at once in several
// processes do not take each other's files away.
func removeStaleTemps(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // tidying is best effort; the save itself succeeded
	}
	for _, e := range entries {
		if e.Type().IsRegular() && isTempOf(e.Name(), base) {
			removeIfAbandoned(filepath.Join(dir, e.Name()))
		}
	}
}

// writeSpecial writes to a path that is not a regular file, in place.
func writeSpecial(path string, fi fs.FileInfo, write func(io.Writer) error) error {
	switch m := fi.Mode(); {
	case m.IsDir():
		return fmt.Errorf("writing %s: is a directory", path)
	case m&fs.ModeSocket != 0:
		return fmt.Errorf("writing %s: is a socket, which cannot be opened as a file; give a file name", path)
	}
	// No O_CREATE (it exists) and no O_TRUNC (meaningless for a pipe or a
	// device, and refused by some).
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
		if err != nil {
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", path, cerr)
	}
	return err
}

// CheckWritable reports, without leaving anything behind, whether
// WriteFileAtomic could write path: for a regular or a new file, that a
// temporary file can be created in its directory (or, if that directory
// does not exist yet, in the nearest one above it that does); for a pipe
// or a device, that it opens for writing. It lets a long job find an
// unusable output path before it starts rather than at its first save.
func CheckWritable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory; give a file name", path)
	case err == nil && fi.Mode()&fs.ModeSocket != 0:
		return fmt.Errorf("%s is a socket, which cannot be opened as a file; give a file name", path)
	case err == nil && !fi.Mode().IsRegular():
		// O_NONBLOCK, so that a pipe without a reader yet does not block
		// the check; that case (ENXIO) is fine, a reader may come later.
		f, oerr := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if oerr != nil {
			if errors.Is(oerr, syscall.ENXIO) && fi.Mode()&fs.ModeNamedPipe != 0 {
				return nil
			}
			return fmt.Errorf("cannot write %s: %w", path, oerr)
		}
		f.Close()
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if real, eerr := filepath.EvalSymlinks(path); eerr == nil {
		path = real
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("%q is not a file name", path)
	}
	// The nearest existing directory: a save's caller may create the
	// folders below it first.
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		parent := filepath.Dir(filepath.Clean(dir))
		if parent == filepath.Clean(dir) {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	f.Close()
	os.Remove(f.Name())
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

// IsStream reports whether path exists and is, itself or through
// symlinks, neither a regular file nor a directory: a pipe, a device,
// /dev/fd/N. WriteFileAtomic writes such a path in place, as a stream.
func IsStream(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.Mode().IsRegular() && !fi.IsDir()
}
