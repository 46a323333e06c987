package backprop_test

import (
	"errors"
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// layer ranks the module's packages as DESIGN.md's table does, bottom up:
// a package may import only packages of a strictly lower rank, so packages
// on one line of the table (nn, optim, data) do not import each other.
// Paths are relative to the module root; "x/" covers every package under x.
var layer = map[string]int{
	"internal/kernels":   0,
	".":                  1, // the root package: Tensor, the ops, Backward
	"internal/bench":     2,
	"gradcheck":          2,
	"expr":               2,
	"checkpoint":         2,
	"viz":                3,
	"nn":                 3,
	"optim":              3,
	"data":               3,
	"dist":               4,
	"internal/synthetic": 4, // small data sets for the training tests
	"dist/mpi":           5, // the communicator over Open MPI; only cmd/ needs it
	"train":              5,
	"web":                6,
	"internal/ddptest":   6, // the DDP test pattern, over train
	"examples/":          7,
	"cmd/":               8,
}

func rankOf(rel string) (int, bool) {
	if r, ok := layer[rel]; ok {
		return r, true
	}
	for p, r := range layer {
		if strings.HasSuffix(p, "/") && (strings.HasPrefix(rel, p) || rel+"/" == p) {
			return r, true
		}
	}
	return 0, false
}

// TestLayers checks every non-test import inside the module against the
// table above: nn must not import optim, the kernels nothing of ours, and
// so on. A package the table does not know is reported, not checked.
func TestLayers(t *testing.T) {
	const module = "github.com/gobackprop/backprop"
	checked := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); dir != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(dir, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		} else if err != nil {
			return err
		}
		rel := filepath.ToSlash(dir)
		r, ok := rankOf(rel)
		if !ok {
			t.Logf("package %s is not in the layer table; add it", rel)
			return nil
		}
		checked++
		for _, imp := range pkg.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if dep == "" {
				dep = "."
			}
			dr, ok := rankOf(dep)
			if !ok {
				t.Errorf("%s imports %s, which is not in the layer table", rel, dep)
			} else if dr >= r {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only layers below its own", rel, r, dep, dr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages; is the test running at the module root?", checked)
	}
}
