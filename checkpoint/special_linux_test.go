package checkpoint

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gobackprop/backprop"
)

// Saving to a named pipe streams the file into it; the pipe stays a pipe
// and the reader gets a file that loads.
func TestSaveToNamedPipe(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "out.safetensors")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skip("cannot make a named pipe here:", err)
	}
	if err := CheckWritable(pipe); err != nil {
		t.Errorf("CheckWritable of a pipe without a reader: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(pipe) // blocks until the writer opens it
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	want := map[string]*backprop.Tensor{"w": backprop.FromFloat32s([]float32{1, 2, 3}, 3)}
	if err := Save(pipe, want, map[string]string{"v": "piped"}); err != nil {
		t.Fatal(err)
	}
	b := <-got
	ts, md, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil || md["v"] != "piped" || !slicesEqual(ts["w"].Float32s(), []float32{1, 2, 3}) {
		t.Errorf("the reader got %d bytes: %v %v %v", len(b), ts, md, err)
	}
	assertMode(t, pipe, fs.ModeNamedPipe)
	checkNoTemp(t, dir)
}

// A device node, made in a temporary folder with /dev/null's numbers, is
// written in place and stays a device: the bug this guards against
// replaced the system's /dev/null with a regular file when run as root.
func TestSaveToDeviceNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: making a device node (mknod) needs root; run the tests as root to cover it")
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/null", &st); err != nil {
		t.Skip("skipped: no /dev/null:", err)
	}
	dir := t.TempDir()
	node := filepath.Join(dir, "null")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, int(st.Rdev)); err != nil {
		t.Skipf("skipped: mknod in %s: %v (a container without CAP_MKNOD, or a nodev mount)", dir, err)
	}
	// A nodev mount lets mknod succeed but refuses to open the node.
	if f, err := os.OpenFile(node, os.O_WRONLY, 0); err != nil {
		t.Skipf("skipped: the device node does not open here (nodev mount?): %v", err)
	} else {
		f.Close()
	}
	if err := CheckWritable(node); err != nil {
		t.Errorf("CheckWritable: %v", err)
	}
	for range 2 { // a second save must find the device again, not a file
		if err := Save(node, map[string]*backprop.Tensor{"w": backprop.Ones(64, 64)}, nil); err != nil {
			t.Fatal(err)
		}
		assertMode(t, node, fs.ModeDevice|fs.ModeCharDevice)
	}
	// Through a symlink, too.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(node, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(link, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }); err != nil {
		t.Fatal(err)
	}
	assertMode(t, node, fs.ModeDevice|fs.ModeCharDevice)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	checkNoTemp(t, dir)
}

// A socket cannot be opened as a file: a clear error, and it stays.
func TestSaveToSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Skip("cannot bind a unix socket here:", err)
	}
	err = Save(sock, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "socket") {
		t.Errorf("got %v, want an error saying it is a socket", err)
	}
	if err := CheckWritable(sock); err == nil || !strings.Contains(err.Error(), "socket") {
		t.Errorf("CheckWritable: got %v", err)
	}
	assertMode(t, sock, fs.ModeSocket)
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != want {
		t.Errorf("%s is now %v, want type %v", path, fi.Mode().Type(), want)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Loading from a pipe, a device or a directory is a clear error, at once:
// opening the pipe would wait for a writer forever.
func TestLoadNotRegular(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "p")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skip(err)
	}
	for path, want := range map[string]string{pipe: "a named pipe", "/dev/null": "a device", dir: "a directory"} {
		if _, _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", path, err, want)
		}
	}
}

// /dev/fd/N of a pipe, as a shell's >(cat) or 3>&1 gives: written in
// place through the magic link, not replaced and not refused.
func TestSaveToDevFd(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	path := fmt.Sprintf("/dev/fd/%d", w.Fd())
	if _, err := os.Stat(path); err != nil {
		w.Close()
		t.Skip("no /dev/fd here:", err)
	}
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	if !IsStream(path) {
		t.Errorf("%s is not seen as a stream", path)
	}
	if err := CheckWritable(path); err != nil {
		t.Errorf("CheckWritable: %v", err)
	}
	err = Save(path, map[string]*backprop.Tensor{"w": backprop.FromFloat32s([]float32{4, 5})}, nil)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := <-got
	if ts, _, err := Read(bytes.NewReader(b), int64(len(b))); err != nil || !slicesEqual(ts["w"].Float32s(), []float32{4, 5}) {
		t.Errorf("the reader got %d bytes: %v", len(b), err)
	}
}
