package web

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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

// TestBrowserTextTraining opens the training page of a tiny language
// model's run in Chromium, trains it, and checks what the page shows: the
// loss against the step with the validation losses, the sample of text of
// the last evaluation, and none of the image run's accuracy and images.
func TestBrowserTextTraining(t *testing.T) {
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("Chromium is not installed, and CI needs the browser tests: run .ci/install-chromium.sh (or set CHROMIUM to its path)")
		}
		t.Skip("skipping browser test: Chromium not found (install Debian's chromium, e.g. with .ci/install-chromium.sh, or set CHROMIUM)")
	}
	browser.once.Do(func() { startBrowser(path) })
	if browser.err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, browser.err)
	}
	tr := tinyTextTrainer(t)
	tp := NewTextTraining(tr, TrainingOptions{})
	s := testServer(t, Options{})
	tp.Register(s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, ln) }()
	t.Cleanup(func() {
		tp.Close()
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	tab, cancelTab := chromedp.NewContext(browser.ctx)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(func() { cancel(); cancelTab() })
	errs := watchPage(ctx, false)

	type shown struct {
		State, Status, Sample, SampleStep, Axis string
		Train, Test, Rows                       int
		Images, Acc, Box                        bool // displayed
	}
	const read = `(() => {
		const d = (id) => document.getElementById(id).dataset;
		const vis = (e) => !!e && getComputedStyle(e).display !== "none" && e.getClientRects().length > 0;
		const axis = document.querySelector("#loss-chart text.axis");
		return {
			State: document.body.dataset.state, Status: document.getElementById("state").textContent,
			Sample: document.getElementById("sample").textContent, SampleStep: d("sample-box").step || "",
			Axis: axis ? axis.textContent : "",
			Train: Number(d("loss-chart").train || 0), Test: Number(d("loss-chart").test || 0),
			Rows: document.querySelectorAll("#epochs tbody tr").length,
			Images: vis(document.getElementById("images").closest("section")),
			Acc: vis(document.getElementById("acc-chart")), Box: vis(document.getElementById("sample-box")),
		};
	})()`
	wait := func(what, js string) shown {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		st, err := chromedp.Run(ctx, chromedp.Evaluate[shown](read))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		return st
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/training")); err != nil {
		t.Fatal(err)
	}
	st := wait("the untrained model's sample", `document.body.dataset.state === "ready" && document.getElementById("sample-box").dataset.step === "0"`)
	if st.Sample == "" || st.Images || st.Acc || !st.Box || st.Train != 0 {
		t.Errorf("before training the page shows %+v", st)
	}
	before := st.Sample

	err = tr.Run(context.Background(), tr.Config.Steps, 3, "", tp)
	tp.Finish(err)
	if err != nil {
		t.Fatal(err)
	}
	st = wait("the end of the run", `document.body.dataset.state === "finished" && document.getElementById("sample-box").dataset.step === "6"`)
	if st.Train != 6 || st.Test != 2 || st.Rows != 2 || st.Axis != "step" || st.Sample == "" || st.Images || st.Acc ||
		!strings.Contains(st.Status, "6 steps") {
		t.Errorf("after training the page shows %+v", st)
	}
	if st.Sample == before {
		t.Errorf("the sample did not change with training: %q", st.Sample)
	}
	for _, e := range errs.get() {
		t.Errorf("in the page: %s", e)
	}
}
