package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

// bands is a learnable data set of n images [1, 8, 8] in 3 classes: each
// class lights up its own band of rows, plus noise.
func bands(n int, seed uint64) *data.TensorDataset {
	rng := bp.NewRNG(seed)
	x := make([]float32, n*64)
	y := make([]int64, n)
	for i := range n {
		c := rng.IntN(3)
		y[i] = int64(c)
		for p := range 64 {
			v := 0.3 * rng.Float64()
			if (p/8)*3/8 == c {
				v += 0.5
			}
			x[i*64+p] = float32(v)
		}
	}
	return data.NewTensorDataset(x, []int{1, 8, 8}, y, 3)
}

// tinyTrainer is the softmax classifier on 96 band images in batches of
// 16 (6 steps an epoch), tested on 30.
func tinyTrainer(t *testing.T, epochs int) *train.Trainer {
	t.Helper()
	cfg, _ := train.Defaults("softmax")
	cfg.Epochs, cfg.Batch = epochs, 16
	tr, err := train.New(cfg, bands(96, 1), bands(30, 2))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// trainingServer serves tp's routes on a real listener (streams need
// one). Its cleanup closes tp first: the server waits for open streams.
func trainingServer(t *testing.T, tp *Training) *httptest.Server {
	t.Helper()
	s := testServer(t, Options{})
	tp.Register(s)
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		tp.Close()
		ts.Close()
	})
	return ts
}

type sseEvent struct {
	Kind string
	Data string
}

// stream is a client of an event stream, parsed by a goroutine.
type stream struct {
	resp   *http.Response
	events chan sseEvent // closed at the end of the stream
}

func openStream(t *testing.T, url string) *stream {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("GET %s: status %d, Content-Type %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{resp: resp, events: make(chan sseEvent, 1<<16)}
	go s.parse()
	return s
}

// parse reads the stream's events into s.events until it ends.
func (s *stream) parse() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(nil, 1<<22)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Kind != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.Kind = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.Data = line[len("data: "):]
		}
	}
}

// until reads events up to and including the first for which stop is
// true.
func (s *stream) until(t *testing.T, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var got []sseEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended after %d events, before the one awaited", len(got))
			}
			got = append(got, ev)
			if stop(ev) {
				return got
			}
		case <-timeout:
			t.Fatalf("timed out after %d events", len(got))
		}
	}
}

// rest reads the events left until the stream ends.
func (s *stream) rest(t *testing.T) []sseEvent {
	t.Helper()
	var got []sseEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("the stream did not end (%d events read)", len(got))
		}
	}
}

func isStatus(state string) func(sseEvent) bool {
	return func(ev sseEvent) bool { return ev.Kind == "status" && strings.Contains(ev.Data, `"state":"`+state+`"`) }
}

// logged keeps the events every client must get, in order.
func logged(evs []sseEvent) []sseEvent {
	return slices.DeleteFunc(slices.Clone(evs), func(e sseEvent) bool { return e.Kind == "status" || e.Kind == "scores" })
}

func decode[T any](t *testing.T, ev sseEvent) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatalf("%s event %q: %v", ev.Kind, ev.Data, err)
	}
	return v
}

// checkScores checks the scores of n images in classes classes: each row
// a softmax, summing to 1 up to the rounding to 5 decimals.
func checkScores(t *testing.T, ev sseEvent, n, classes int) scoresEvent {
	t.Helper()
	sc := decode[scoresEvent](t, ev)
	if len(sc.Probs) != n {
		t.Fatalf("scores of %d images, want %d", len(sc.Probs), n)
	}
	for i, row := range sc.Probs {
		sum := 0.0
		for _, p := range row {
			if !(p >= 0 && p <= 1) {
				t.Errorf("image %d: probability %v", i, p)
			}
			sum += float64(p)
		}
		if len(row) != classes || math.Abs(sum-1) > 1e-4 {
			t.Errorf("image %d: %d scores summing to %v", i, len(row), sum)
		}
	}
	return sc
}

// TestTrainingStream trains two epochs with a page that connects after the
// first: it gets the first epoch's history, then follows the second live,
// as does a second client; the points average the steps exactly.
func TestTrainingStream(t *testing.T) {
	tr := tinyTrainer(t, 2)
	tp := NewTraining(tr, TrainingOptions{Every: 2, ScoresEvery: time.Hour})
	ts := trainingServer(t, tp)
	ctx := context.Background()
	if _, err := tr.RunEpoch(ctx, tp); err != nil {
		t.Fatal(err)
	}

	late := openStream(t, ts.URL+"/api/training/events")
	// The log, with the newest scores and status where they were
	// published among it.
	first := late.until(t, isStatus("training"))
	kinds := []string{}
	for _, ev := range first {
		kinds = append(kinds, ev.Kind)
	}
	if want := "run point point point scores epoch status"; strings.Join(kinds, " ") != want {
		t.Fatalf("the history replayed as %q, want %q", strings.Join(kinds, " "), want)
	}
	run := decode[runEvent](t, first[0])
	if run.Title != "softmax on mnist" || run.Epochs != 2 || run.Batches != 6 || run.Every != 2 || len(run.Images) != 8 ||
		!slices.Equal(run.Classes, []string{"0", "1", "2"}) || run.Params != 195 {
		t.Errorf("run %+v", run)
	}
	// Eight images over three classes: the first of each class, then the
	// second, and so on.
	test := tr.TestSet.(*data.TensorDataset)
	for i, im := range run.Images {
		if im.Label != i%3 || int(test.Labels()[im.Index]) != im.Label || !slices.Equal(im.Shape, []int{1, 8, 8}) || len(im.Pixels) != 88 {
			t.Errorf("image %d: %+v", i, im)
		}
	}
	var loss, acc float64
	for k, ev := range first[1:4] {
		p := decode[pointEvent](t, ev)
		if p.Step != 2*(k+1) || p.Batch != 2*(k+1) || p.Steps != 2 || p.Epoch != 1 || p.Batches != 6 {
			t.Errorf("point %d: %+v", k, p)
		}
		loss += float64(p.Loss) / 3 // equal batches: the epoch's loss is the mean
		acc += float64(p.Acc) / 3
		if k == 2 && (float64(p.EpochLoss) != tr.History[0].TrainLoss || float64(p.EpochAcc) != tr.History[0].TrainAcc) {
			t.Errorf("last point's running means %v %v, want the epoch's %v %v", p.EpochLoss, p.EpochAcc, tr.History[0].TrainLoss, tr.History[0].TrainAcc)
		}
	}
	if h := tr.History[0]; math.Abs(loss-h.TrainLoss) > 1e-12 || math.Abs(acc-h.TrainAcc) > 1e-12 {
		t.Errorf("the points average to loss %v acc %v; the epoch's are %v %v", loss, acc, h.TrainLoss, h.TrainAcc)
	}
	if m := decode[epochEvent](t, first[5]); m.Epoch != 1 || float64(m.TestAcc) != tr.History[0].TestAcc || float64(m.TestLoss) != tr.History[0].TestLoss {
		t.Errorf("epoch %+v, want %+v", m, tr.History[0])
	}
	if sc := checkScores(t, first[4], 8, 3); sc.Step != 6 {
		t.Errorf("the scores are of step %d, want 6 (the end of the epoch)", sc.Step)
	}
	if st := decode[statusEvent](t, first[6]); st.State != "training" || st.Epoch != 2 {
		t.Errorf("status %+v", st)
	}

	second := openStream(t, ts.URL+"/api/training/events")
	second.until(t, isStatus("training"))
	if _, err := tr.RunEpoch(ctx, tp); err != nil {
		t.Fatal(err)
	}
	tp.Finish(nil)
	a := late.until(t, isStatus("finished"))
	b := second.until(t, isStatus("finished"))
	if st := decode[statusEvent](t, a[len(a)-1]); st.Epoch != 2 || st.Step != 12 || st.Error != "" {
		t.Errorf("final status %+v", st)
	}
	// Both clients got the second epoch's points and its epoch, in order.
	la, lb := logged(a), logged(b)
	if len(la) != 4 || !slices.Equal(la, lb) || la[3].Kind != "epoch" || decode[pointEvent](t, la[2]).Step != 12 {
		t.Errorf("live events\n%v\n%v", la, lb)
	}
	tp.Close()
	if rest := late.rest(t); len(rest) != 0 {
		t.Errorf("after the end: %v", rest)
	}
	second.rest(t)

	// The snapshot holds the same.
	resp, err := http.Get(ts.URL + "/api/training")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Run    runEvent
		Status statusEvent
		Scores scoresEvent
		Points []pointEvent
		Epochs []epochEvent
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.Run.Title != run.Title || snap.Status.State != "finished" || len(snap.Points) != 6 || len(snap.Epochs) != 2 ||
		snap.Points[5].Step != 12 || len(snap.Scores.Probs) != 8 || float64(snap.Epochs[1].TestAcc) != tr.History[1].TestAcc {
		t.Errorf("snapshot %+v", snap)
	}
	// After Close a new stream is refused.
	rec := do(testServerWith(t, tp), http.MethodGet, "/api/training/events", "")
	wantAPIError(t, rec, http.StatusServiceUnavailable, "closed", "", 0)
}

// testServerWith is a Server with tp's routes, for in-process requests.
func testServerWith(t *testing.T, tp *Training) *Server {
	s := testServer(t, Options{})
	tp.Register(s)
	return s
}

// TestTrainingManyClients follows one run with several clients at once,
// some joining in the middle: all get the same events.
func TestTrainingManyClients(t *testing.T) {
	tr := tinyTrainer(t, 3)
	tp := NewTraining(tr, TrainingOptions{})
	ts := trainingServer(t, tp)
	var clients []*stream
	for range 3 {
		clients = append(clients, openStream(t, ts.URL+"/api/training/events"))
	}
	p := &joiner{Progress: tp, join: func() {
		clients = append(clients, openStream(t, ts.URL+"/api/training/events"))
	}}
	if err := tr.Run(context.Background(), "", p); err != nil {
		t.Fatal(err)
	}
	tp.Finish(nil)
	var want []sseEvent
	for i, c := range clients {
		evs := c.until(t, isStatus("finished"))
		got := logged(evs)
		if i == 0 {
			want = got
		}
		if len(got) != 1+18+3 || !slices.Equal(got, want) {
			t.Errorf("client %d: %d events, want the first's %d", i, len(got), len(want))
		}
		k := slices.IndexFunc(evs, func(ev sseEvent) bool { return ev.Kind == "scores" })
		if k < 0 {
			t.Fatalf("client %d: no scores", i)
		}
		checkScores(t, evs[k], 8, 3)
	}
	if n := tp.feed.clientCount(); n != 5 {
		t.Errorf("%d clients, want 5", n)
	}
}

// joiner connects a client at the start of each epoch after the first.
type joiner struct {
	train.Progress
	join func()
}

func (j *joiner) StartEpoch(epoch, epochs, batches int) {
	if epoch > 1 {
		j.join()
	}
	j.Progress.StartEpoch(epoch, epochs, batches)
}

// TestTrainingSlowClient connects a client that never reads: publishing
// must not wait for it, another client must get everything, and the slow
// one is dropped once a write has waited writeWait.
func TestTrainingSlowClient(t *testing.T) {
	f := newFeed(8, time.Hour)
	f.writeWait = time.Second
	ts := httptest.NewServer(http.HandlerFunc(f.serveEvents))
	t.Cleanup(func() { f.close(); ts.Close() })

	slow, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(slow, "GET / HTTP/1.1\r\nHost: test\r\n\r\n")
	waitFor(t, "the slow client to follow", func() bool { return f.clientCount() == 1 })
	fast := openStream(t, ts.URL)
	waitFor(t, "the fast client to follow", func() bool { return f.clientCount() == 2 })

	// 16 MB: far more than the sockets' buffers hold.
	pad := strings.Repeat("x", 64<<10)
	published := make(chan int, 1)
	go func() {
		for i := range 256 {
			f.publish("point", map[string]any{"i": i, "pad": pad})
			f.publish("scores", map[string]any{"i": i})
		}
		published <- f.clientCount()
	}()
	select {
	case n := <-published:
		// A publisher that waited for the slow client would have waited
		// until it was dropped.
		if n != 2 {
			t.Errorf("after publishing, %d clients follow: publishing waited for the slow client", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publishing blocked")
	}
	f.publish("status", map[string]any{"state": "finished"})
	evs := fast.until(t, func(ev sseEvent) bool { return ev.Kind == "status" })
	n := 0
	for _, ev := range evs {
		if ev.Kind != "point" {
			continue
		}
		var p struct{ I int }
		json.Unmarshal([]byte(ev.Data), &p)
		if p.I != n {
			t.Fatalf("point %d arrived as number %d", p.I, n)
		}
		n++
	}
	if n != 256 {
		t.Errorf("the fast client got %d points of 256", n)
	}
	waitFor(t, "the slow client to be dropped", func() bool { return f.clientCount() == 1 })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestTrainingFeedRace publishes from one goroutine while clients follow,
// join, leave and take snapshots from others; run it with -race. Every
// client gets every logged event exactly once, in order.
func TestTrainingFeedRace(t *testing.T) {
	f := newFeed(64, 5*time.Millisecond)
	ts := httptest.NewServer(http.HandlerFunc(f.serveEvents))
	t.Cleanup(func() { f.close(); ts.Close() })
	const events = 2000

	var wg sync.WaitGroup
	check := func(s *stream, whole bool) {
		defer wg.Done()
		next := 0
		for ev := range s.events {
			var v struct{ I int }
			if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
				t.Errorf("event %q: %v", ev.Data, err)
				return
			}
			switch ev.Kind {
			case "point":
				if v.I != next {
					t.Errorf("point %d after %d", v.I, next-1)
					return
				}
				next = v.I + 1
			case "scores":
				if v.I >= next {
					t.Errorf("scores of %d before point %d", v.I, v.I)
				}
			}
		}
		if whole && next != events {
			t.Errorf("the stream ended at point %d of %d", next, events)
		}
	}
	for range 4 {
		wg.Add(1)
		go check(openStream(t, ts.URL), true)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range events {
			f.publish("point", map[string]int{"i": i})
			if i%7 == 0 {
				f.publish("scores", map[string]int{"i": i})
			}
		}
		f.close()
	}()
	// Late and leaving clients, and snapshots, while it publishes.
	for k := 0; ; k++ {
		select {
		case <-done:
			wg.Wait()
			return
		default:
		}
		if k%2 == 0 {
			// A client may come after the end: it is refused.
			resp, err := http.Get(ts.URL)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusServiceUnavailable {
				resp.Body.Close()
				continue
			}
			s := &stream{resp: resp, events: make(chan sseEvent, 1<<16)}
			go s.parse()
			wg.Add(1)
			go func() {
				defer resp.Body.Close()
				check(s, false)
			}()
		} else {
			frames, _ := f.since(uint64(k))
			for i := 1; i < len(frames); i++ {
				if frames[i].seq <= frames[i-1].seq {
					t.Fatal("since returned frames out of order")
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTrainingRoutes checks the page, the methods and the paths.
func TestTrainingRoutes(t *testing.T) {
	tr := tinyTrainer(t, 1)
	tp := NewTraining(tr, TrainingOptions{MaxClients: 1})
	s := testServerWith(t, tp)
	for _, tc := range []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/training", 200, "text/html", `<script src="/static/training.js"`},
		{"HEAD", "/training", 200, "text/html", ""},
		{"GET", "/static/training.js", 200, "javascript", "EventSource"},
		{"GET", "/static/training.css", 200, "text/css", ".card"},
		{"GET", "/api/training", 200, "application/json", `"title":"softmax on mnist"`},
		{"POST", "/training", 405, "application/json", "method POST is not allowed"},
		{"POST", "/api/training/events", 405, "application/json", "use GET"},
		{"DELETE", "/api/training", 405, "application/json", "not allowed"},
		{"GET", "/training/", 404, "application/json", "no such page"},
		{"GET", "/api/training/event", 404, "application/json", "no such page"},
		{"GET", "/api/training/events/x", 404, "application/json", "no such page"},
		{"GET", "/static/training.go", 404, "application/json", "no such file"},
		{"GET", "/", 200, "text/html", "explorer"}, // the explorer is still there
	} {
		rec := do(s, tc.method, tc.path, "")
		if rec.Code != tc.status || !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %q %.80q", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: no security headers", tc.method, tc.path)
		}
	}

	// One stream at most here: the second is refused.
	ts := trainingServer(t, tp)
	openStream(t, ts.URL+"/api/training/events")
	waitFor(t, "the stream", func() bool { return tp.feed.clientCount() == 1 })
	resp, err := http.Get(ts.URL + "/api/training/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream beyond MaxClients: status %d", resp.StatusCode)
	}
}

// TestTrainingLeavesRunAlone trains a model with dropout twice, once with
// a Training computing the scores at every point: the weights must end
// bit for bit the same, and the model in training mode.
func TestTrainingLeavesRunAlone(t *testing.T) {
	run := func(watch bool) *train.Trainer {
		cfg, _ := train.Defaults("mlp")
		cfg.Model, cfg.Epochs, cfg.Batch = "dropout", 2, 16
		rng := bp.NewRNG(3)
		model := nn.NewSequential(nn.NewFlatten(), nn.NewLinear(64, 16, rng), nn.NewReLU(), nn.NewDropout(0.3, rng),
			nn.NewBatchNorm1d(16), nn.NewLinear(16, 3, rng))
		tr, err := train.NewWithModel(cfg, model, nn.CrossEntropy, rng, bands(96, 1), bands(30, 2))
		if err != nil {
			t.Fatal(err)
		}
		var p train.Progress
		if watch {
			tp := NewTraining(tr, TrainingOptions{Every: 1, ScoresEvery: time.Nanosecond})
			defer tp.Close()
			p = tp
		}
		if err := tr.Run(context.Background(), "", p); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b := run(false), run(true)
	if !b.Model.(interface{ Training() bool }).Training() {
		t.Error("the model was left in evaluation mode")
	}
	sa, sb := nn.StateDict(a.Model), nn.StateDict(b.Model)
	for name, x := range sa {
		if !slices.Equal(x.Float64s(), sb[name].Float64s()) {
			t.Errorf("%s differs after training with the page", name)
		}
	}
	if ma, mb := a.History[1], b.History[1]; ma.TrainLoss != mb.TrainLoss || ma.TestLoss != mb.TestLoss || ma.TestAcc != mb.TestAcc {
		t.Errorf("metrics %+v vs %+v", ma, mb)
	}
}

// TestTrainingFinish checks the end states, and a resumed run's history.
func TestTrainingFinish(t *testing.T) {
	tr := tinyTrainer(t, 2)
	if err := tr.Run(context.Background(), "", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err          error
		state, error string
	}{
		{nil, "finished", ""},
		{fmt.Errorf("stopped: %w", context.Canceled), "interrupted", ""},
		{errors.New("the loss became NaN"), "failed", "the loss became NaN"},
	} {
		tp := NewTraining(tr, TrainingOptions{})
		tp.Finish(tc.err)
		frames, closed := tp.feed.since(0)
		var epochs int
		var st statusEvent
		for _, fr := range frames {
			switch fr.kind {
			case "epoch":
				epochs++
			case "status":
				json.Unmarshal(fr.data, &st)
			}
		}
		if closed || epochs != 2 || st.State != tc.state || st.Error != tc.error || st.Epoch != 2 || st.Step != 12 {
			t.Errorf("%v: closed %v, %d epochs, status %+v", tc.err, closed, epochs, st)
		}
		tp.Close()
		tp.Close() // twice is fine
		tp.Finish(nil)
		if _, closed := tp.feed.since(0); !closed {
			t.Error("not closed")
		}
	}
}

func TestPickImages(t *testing.T) {
	labels := []int64{2, 2, 0, 1, 0, 2, 1}
	ds := data.NewTensorDataset(make([]float32, len(labels)*4), []int{2, 2}, labels, 4)
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{3, []int{2, 3, 0}},
		{5, []int{2, 3, 0, 4, 6}},
		{7, []int{2, 3, 0, 4, 6, 1, 5}},
		{9, []int{2, 3, 0, 4, 6, 1, 5}}, // no more than there are
		{0, nil},
	} {
		if got := pickImages(ds, 4, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("%d images: %v, want %v", tc.n, got, tc.want)
		}
	}
	// A class missing: the first examples not chosen fill in.
	if got := pickImages(ds.Slice(0, 3), 4, 3); !slices.Equal(got, []int{2, 0, 1}) {
		t.Errorf("got %v", got)
	}
}

func TestImageEvent(t *testing.T) {
	ev := newImageEvent(4, 1, []int{2, 2}, []float32{-1, 0, 1, float32(math.NaN())})
	if !slices.Equal(ev.Shape, []int{1, 2, 2}) || ev.Pixels != "AID/AA==" { // 0, 128, 255, 0
		t.Errorf("%+v", ev)
	}
	if ev := newImageEvent(0, 0, []int{4}, make([]float32, 4)); ev.Pixels != "" || len(ev.Shape) != 0 {
		t.Errorf("a flat example: %+v", ev)
	}
	if ev := newImageEvent(0, 0, []int{3, 1, 1}, []float32{2, 2, 2}); ev.Pixels != "AAAA" {
		t.Errorf("a flat colour: %+v", ev)
	}
	if got := classNames("cifar10", 10); got[3] != "cat" || got[9] != "truck" {
		t.Errorf("cifar10 classes %v", got)
	}
}
