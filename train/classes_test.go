package train

import (
	"context"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/internal/synthetic"
)

// opaque is a data set of the caller's own type (not a TensorDataset, which
// firstN can slice), so a --train-size cut wraps it in a subset.
type opaque struct {
	data.Dataset
	classes int
}

func (o opaque) Classes() int { return o.classes }

// classless hides the Classes method of the data set it wraps.
type classless struct{ data.Dataset }

func TestClassesOfCutDataSets(t *testing.T) {
	trainSet, testSet := opaque{synthetic.Images(64, 6, 1), 3}, opaque{synthetic.Images(32, 6, 2), 3}
	cfg, _ := Defaults("softmax")
	cfg.Epochs, cfg.Batch, cfg.TrainSize, cfg.TestSize = 1, 16, 48, 20
	tr, err := New(cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []data.Dataset{tr.TrainSet, tr.TestSet} {
		if _, ok := ds.(subset); !ok {
			t.Fatalf("a cut of %T is a %T, want a subset", trainSet, ds)
		}
		if c, err := classesOf(ds); err != nil || c != 3 {
			t.Fatalf("the cut data set has %d classes (%v), want 3", c, err)
		}
	}
	if tr.TrainSet.Len() != 48 || tr.TestSet.Len() != 20 {
		t.Fatalf("cut to %d and %d examples, want 48 and 20", tr.TrainSet.Len(), tr.TestSet.Len())
	}
	if err := tr.Run(context.Background(), "", nil); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name        string
		train, test data.Dataset
		want        string
	}{
		{"train set without classes", classless{synthetic.Images(64, 6, 1)}, testSet, "does not say how many classes"},
		{"test set without classes", trainSet, classless{synthetic.Images(32, 6, 2)}, "does not say how many classes"},
		{"class counts differ", trainSet, opaque{synthetic.Images(32, 6, 2), 4}, "3 classes and the test set 4"},
	} {
		_, err := New(cfg, c.train, c.test)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
