package web

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/train"
)

// shownCard is a test image as the page shows it.
type shownCard struct {
	Index   int        `json:"index"`
	Label   int        `json:"label"`
	Pred    string     `json:"pred"`
	Right   bool       `json:"right"`
	Probs   []*float64 `json:"probs"` // data-p of each bar; nil before the first scores
	PredRow int        `json:"predRow"`
	TrueRow int        `json:"trueRow"`
	Ink     int        `json:"ink"` // lit pixels on its canvas
}

// shownRun is what the training page shows, read from the DOM.
type shownRun struct {
	State     string      `json:"state"`
	Status    string      `json:"status"`
	LossTrain int         `json:"lossTrain"` // points of each curve
	LossTest  int         `json:"lossTest"`
	AccTrain  int         `json:"accTrain"`
	AccTest   int         `json:"accTest"`
	Polyline  int         `json:"polyline"` // vertices of the training loss line
	Cards     []shownCard `json:"cards"`
	Epochs    int         `json:"epochs"` // rows of the table
	RunValue  float64     `json:"runValue"`
	RunMax    float64     `json:"runMax"`
	Title     string      `json:"title"`
}

const readRun = `(() => {
	const n = (id, k) => Number(document.getElementById(id).dataset[k] || 0);
	const line = document.querySelector("#loss-chart .series.train polyline");
	return {
		state: document.body.dataset.state,
		status: document.getElementById("state").textContent,
		lossTrain: n("loss-chart", "train"), lossTest: n("loss-chart", "test"),
		accTrain: n("acc-chart", "train"), accTest: n("acc-chart", "test"),
		polyline: line ? line.getAttribute("points").trim().split(/\s+/).length : 0,
		cards: Array.from(document.querySelectorAll("#images .card")).map((c) => {
			const rows = Array.from(c.querySelectorAll("g.row"));
			const cv = c.querySelector("canvas");
			let ink = 0;
			if (cv) {
				const px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
				for (let i = 0; i < px.length; i += 4) if (px[i] > 128) ink++;
			}
			return {
				index: Number(c.dataset.index), label: Number(c.dataset.label), pred: c.dataset.pred || "",
				right: c.classList.contains("right"),
				probs: Array.from(c.querySelectorAll("rect.bar")).map((b) => b.dataset.p == null ? null : Number(b.dataset.p)),
				predRow: rows.findIndex((g) => g.classList.contains("pred")),
				trueRow: rows.findIndex((g) => g.classList.contains("true")),
				ink,
			};
		}),
		epochs: document.querySelectorAll("#epochs tbody tr").length,
		runValue: document.getElementById("run-progress").value,
		runMax: document.getElementById("run-progress").max,
		title: document.getElementById("title").textContent,
	};
})()`

// TestBrowserTraining opens the training page, then trains the linear
// softmax classifier on 300 MNIST images for two epochs: the curves gain
// points each epoch, and the test digits show the model's scores, a
// softmax for each, with the predicted class highlighted.
func TestBrowserTraining(t *testing.T) {
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

	trainSet, testSet, err := data.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := train.Defaults("softmax")
	cfg.Epochs, cfg.Batch, cfg.TrainSize, cfg.TestSize = 2, 50, 300, 200
	tr, err := train.New(cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	tp := NewTraining(tr, TrainingOptions{Every: 1})

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

	read := func() *shownRun {
		t.Helper()
		st, err := chromedp.Run(ctx, chromedp.Evaluate[*shownRun](readRun))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		return st
	}
	wait := func(what, js string) *shownRun {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("waiting for %s (%s): %v; the page shows %+v", what, js, err, read())
		}
		return read()
	}
	curves := func(train, test int) string {
		return fmt.Sprintf(`(() => { const l = document.getElementById("loss-chart").dataset, a = document.getElementById("acc-chart").dataset;
			return l.train === "%d" && a.train === "%d" && l.test === "%d" && a.test === "%d"; })()`, train, train, test, test)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/training")); err != nil {
		t.Fatal(err)
	}
	st := wait("the untrained model's scores", `document.body.dataset.state === "ready" && document.querySelectorAll("#images rect.bar[data-p]").length === 80`)
	if st.Title != "Training softmax on mnist" || st.LossTrain != 0 || st.Epochs != 0 || len(st.Cards) != 8 {
		t.Errorf("before training the page shows %+v", st)
	}
	checkCards(t, st.Cards, testSet)

	// The first epoch: six steps, a point each, and the test accuracy.
	if _, err := tr.RunEpoch(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	st = wait("the first epoch", curves(6, 1))
	if st.Polyline != 6 || st.Epochs != 1 || st.RunValue != 6 || st.RunMax != 12 {
		t.Errorf("after epoch 1 the page shows %+v", st)
	}
	before := st.Cards

	if _, err := tr.RunEpoch(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	tp.Finish(nil)
	st = wait("the end", curves(12, 2)+` && document.body.dataset.state === "finished"`)
	if st.Polyline != 12 || st.Epochs != 2 || st.RunValue != 12 ||
		!strings.Contains(st.Status, fmt.Sprintf("test accuracy %.2f%%", 100*tr.History[1].TestAcc)) {
		t.Errorf("at the end the page shows %+v", st)
	}
	checkCards(t, st.Cards, testSet)
	// The scores moved with training, and the trained classifier gets
	// most of the digits right.
	right := 0
	for i, c := range st.Cards {
		if slices.EqualFunc(c.Probs, before[i].Probs, func(a, b *float64) bool { return *a == *b }) {
			t.Errorf("image %d: the scores did not change in the second epoch", i)
		}
		if c.Right {
			right++
		}
	}
	if right < 5 {
		t.Errorf("%d of 8 digits right after training", right)
	}
	// The page shows the server's final scores.
	frames, _ := tp.feed.since(0)
	var final scoresEvent
	for _, f := range frames {
		if f.kind == "scores" {
			final = decode[scoresEvent](t, sseEvent{f.kind, string(f.data)})
		}
	}
	for i, c := range st.Cards {
		for k, p := range c.Probs {
			if *p != float64(final.Probs[i][k]) {
				t.Errorf("image %d class %d: the page shows %v, the server sent %v", i, k, *p, final.Probs[i][k])
			}
		}
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(os.TempDir(), "training-browser.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Errorf("saving the screenshot: %v", err)
	}
	t.Logf("screenshot: %s", shot)

	// Only the page's own server was asked for anything.
	urls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(e => e.name)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "http://"+ln.Addr().String()+"/") {
			t.Errorf("the page loaded %s", u)
		}
	}
	for _, e := range errs.get() {
		t.Errorf("in the page: %s", e)
	}
}

// checkCards checks the test images shown: each a drawn digit with its
// true label from the test set, ten bars summing to 1, and the longest one
// marked as the prediction.
func checkCards(t *testing.T, cards []shownCard, testSet *data.TensorDataset) {
	t.Helper()
	for i, c := range cards {
		if c.Label != int(testSet.Labels()[c.Index]) || c.Label != i || c.TrueRow != c.Label {
			t.Errorf("image %d: test example %d, label %d, true row %d", i, c.Index, c.Label, c.TrueRow)
		}
		if c.Ink < 30 || c.Ink > 400 {
			t.Errorf("image %d: %d lit pixels: not a digit", i, c.Ink)
		}
		if len(c.Probs) != 10 {
			t.Fatalf("image %d: %d bars", i, len(c.Probs))
		}
		sum, best := 0.0, 0
		for k, p := range c.Probs {
			if p == nil {
				t.Fatalf("image %d: bar %d has no score", i, k)
			}
			sum += *p
			if *p > *c.Probs[best] {
				best = k
			}
		}
		if math.Abs(sum-1) > 1e-3 {
			t.Errorf("image %d: the scores sum to %v", i, sum)
		}
		if c.PredRow != best || c.Pred != fmt.Sprint(best) || c.Right != (best == c.Label) {
			t.Errorf("image %d: prediction shown as row %d (%q, right %v), the largest score is %d", i, c.PredRow, c.Pred, c.Right, best)
		}
	}
}

// watchPage collects the page's exceptions and console errors (leaving
// out failed network requests when ignoreNetwork is set).
func watchPage(ctx context.Context, ignoreNetwork bool) *problems {
	errs := &problems{}
	// Subscribe before anything happens in the tab, then read on.
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	logs := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			errs.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	}()
	go func() {
		for ev, err := range logs {
			if err != nil {
				return
			}
			if e := ev.Entry; e.Level == cdplog.EntryLevelError && !(ignoreNetwork && e.Source == cdplog.EntrySourceNetwork) {
				errs.add(fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
			}
		}
	}()
	return errs
}
