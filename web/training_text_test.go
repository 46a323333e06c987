package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/train"
)

func tinyTextTrainer(t *testing.T) *train.TextTrainer {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.txt")
	if err := os.WriteFile(p, []byte(strings.Repeat("the cat sat on the mat.\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := data.ReadText(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := train.TextDefaults("gpt")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Layers, cfg.Heads, cfg.Embd, cfg.Context, cfg.Batch, cfg.Steps = 1, 2, 16, 8, 4, 6
	tr, err := train.NewText(cfg, c, false)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTextTraining trains a tiny language model while it is served and
// reads the run back from the snapshot API: a point per step, an
// evaluation every 3 steps with its validation loss, the sample of the
// last evaluation, and the finished state.
func TestTextTraining(t *testing.T) {
	tr := tinyTextTrainer(t)
	tp := NewTextTraining(tr, TrainingOptions{})
	s := testServer(t, Options{})
	tp.Register(s)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		tp.Close()
		ts.Close()
	})
	before := snapshotText(t, ts.URL)
	if before.Sample.Step != 0 || len(before.Sample.Text) == 0 || !before.Run.Text {
		t.Fatalf("before training: %+v", before)
	}
	err := tr.Run(context.Background(), tr.Config.Steps, 3, "", tp)
	tp.Finish(err)
	if err != nil {
		t.Fatal(err)
	}
	got := snapshotText(t, ts.URL)
	if len(got.Points) != 6 || len(got.Epochs) != 2 || got.Status.State != "finished" {
		t.Fatalf("%d points, %d evaluations, state %q", len(got.Points), len(got.Epochs), got.Status.State)
	}
	for i, p := range got.Points {
		if p.Step != i+1 || p.Loss == nil || *p.Loss <= 0 {
			t.Errorf("point %d: step %d loss %v", i, p.Step, p.Loss)
		}
	}
	for i, m := range got.Epochs {
		if m.Epoch != 3*(i+1) || m.TestLoss == nil || *m.TestLoss != tr.History[i].ValLoss {
			t.Errorf("evaluation %d: %+v, want step %d val loss %v", i, m, 3*(i+1), tr.History[i].ValLoss)
		}
	}
	if got.Sample.Step != 6 || len(got.Sample.Text) == 0 {
		t.Errorf("sample %+v", got.Sample)
	}
	// The seed is fixed: the same model gives the same sample.
	tp.publishSample()
	if again := snapshotText(t, ts.URL); again.Sample != got.Sample {
		t.Errorf("sample of the same model changed: %q, then %q", got.Sample.Text, again.Sample.Text)
	}
}

type textSnapshot struct {
	Run struct {
		Text bool `json:"text"`
	} `json:"run"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	Points []struct {
		Step int      `json:"step"`
		Loss *float64 `json:"loss"`
	} `json:"points"`
	Epochs []struct {
		Epoch    int      `json:"epoch"`
		TestLoss *float64 `json:"test_loss"`
	} `json:"epochs"`
	Sample struct {
		Step int    `json:"step"`
		Text string `json:"text"`
	} `json:"sample"`
}

func snapshotText(t *testing.T, base string) textSnapshot {
	t.Helper()
	resp, err := http.Get(base + "/api/training")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s textSnapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/training: %d %v", resp.StatusCode, err)
	}
	return s
}
