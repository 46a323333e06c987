//go:build unix

package checkpoint

import (
	"errors"
	"os"
	"syscall"
)

// A save holds an exclusive flock on its temporary file from just after
// creating it until the rename, so that the tidying of another save of the
// same target (removeStaleTemps) can tell the file of a live save, which
// it must leave alone, from one that a crash left behind: the kernel drops
// a lock when its process dies, however it dies.

// lockTemp takes the save's lock on f, its new temporary file, through a
// descriptor of its own (the save closes f before the rename, and closing
// a descriptor drops a lock taken through it), and checks that the name
// still leads to f: a tidying save may have removed it in the instant
// between creation and lock, and the caller then starts over with a new
// file. unlock drops the lock; the save calls it after the rename.
func lockTemp(f *os.File) (unlock func(), ok bool, err error) {
	l, err := os.Open(f.Name())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if err := flock(l, syscall.LOCK_EX); err != nil {
		// A file system without locks (some network and FUSE ones): the
		// save goes on unlocked, as saves did before the locks; only
		// tidying cannot tell its file from a crash's there.
		l.Close()
		return func() {}, true, nil
	}
	fi, ferr := f.Stat()
	on, lerr := os.Lstat(f.Name())
	if ferr != nil || lerr != nil || !os.SameFile(fi, on) {
		l.Close()
		if lerr != nil && !errors.Is(lerr, os.ErrNotExist) {
			return nil, false, lerr
		}
		return nil, false, ferr
	}
	return func() { l.Close() }, true, nil
}

// removeIfAbandoned removes path, a temporary file of an earlier save, if
// no live save holds its lock.
func removeIfAbandoned(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return // held by a save under way: not ours to remove
		}
		// No locks on this file system: remove it, as before the locks
		// (a save under way in another process then fails, its target
		// untouched).
		f.Close()
		os.Remove(path)
		return
	}
	// Still the file that was locked: only then is it the abandoned one.
	fi, ferr := f.Stat()
	on, lerr := os.Lstat(path)
	if ferr == nil && lerr == nil && os.SameFile(fi, on) {
		os.Remove(path)
	}
}

// flock retries on EINTR, which a signal (the Go runtime's preemption
// among them) can cause while a blocking lock waits.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
