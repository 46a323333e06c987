package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/data"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

// The training page shows a run as it trains: the loss and accuracy
// curves, the speed and progress, and a few test images with the model's
// scores for each class, as the lecture shows a classifier's scores for a
// cat, a dog and a ship.
//
// The Trainer reports to a Training (it is the run's train.Progress) on the
// training goroutine. Everything that reads the model happens there,
// between two steps, when no step is writing the weights: the scores are
// computed then, on inputs marked NoGrad, so no graph is recorded and
// nothing is shared with the HTTP goroutines but finished JSON. Those
// publish the JSON to the browsers through a feed (training_feed.go) that
// never waits for a client.

// TrainingOptions configure a Training. The zero value is ready to use.
type TrainingOptions struct {
	// Every is the number of steps each point of the training curves
	// averages (the last point of an epoch may average fewer); 0 picks
	// about 50 points an epoch.
	Every int
	// Images is the number of test images shown with their scores; 0
	// means 8. They are the first test example of each class in turn.
	Images int
	// ScoresEvery is the least time between two computations of the
	// scores; 0 means 200 ms. The scores are computed at a point of the
	// curves once that time has passed, and always at the end of an epoch.
	ScoresEvery time.Duration
	// KeepAlive is the time between two comments on an idle event stream,
	// which keep proxies from closing it; 0 means 15 s.
	KeepAlive time.Duration
	// MaxClients bounds the event streams open at once; one more gets
	// 503. 0 means 64.
	MaxClients int
}

// Training publishes a training run to browsers. It is the run's
// train.Progress (pass it to Trainer.Run, alone or beside another), and
// Register adds its page and API to a Server:
//
//	GET /training               the page
//	GET /api/training/events    the run as server-sent events (text/event-stream)
//	GET /api/training           the run so far as one JSON object
//
// The event stream starts with everything so far, so a page opened late
// draws the whole run, then follows it live. Its events are:
//
//	run     the settings, the classes and the test images (first, once)
//	point   the training loss and accuracy averaged over the last steps,
//	        with the step, the epoch's progress, images/s and the learning rate
//	epoch   an epoch's metrics, test loss and accuracy among them
//	status  the state of the run: training, evaluating, finished,
//	        interrupted or failed (with the error)
//	scores  the softmax of the model's scores for each test image
//
// A client gets every run, point and epoch event, but only the newest
// status and scores: a client that reads slowly gets them coalesced, and
// training never waits for any client.
//
// StartEpoch, Batch and EndEpoch must be called on the goroutine that
// trains (Trainer.Run does), as must NewTraining; the rest may be called
// from any goroutine.
type Training struct {
	tr          *train.Trainer
	every       int
	scoresEvery time.Duration
	feed        *feed

	images  *bp.Tensor // [n, example shape...], NoGrad
	classes int

	// The current window of steps of the next point, and the last step
	// seen, touched only by the training goroutine.
	winLoss, winCorrect float64
	winSize, winSteps   int
	lastScores          time.Time
	epoch, step         int
}

// NewTraining returns the Training of tr, with its settings, its test
// images and the scores of the model as it is now (untrained, or as a
// resumed checkpoint left it). Epochs trained before (a resumed run's
// history) appear as epoch events.
func NewTraining(tr *train.Trainer, opts TrainingOptions) *Training {
	if opts.Images <= 0 {
		opts.Images = 8
	}
	if opts.ScoresEvery <= 0 {
		opts.ScoresEvery = 200 * time.Millisecond
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 64
	}
	cfg := tr.Config
	batches := (tr.TrainSet.Len() + cfg.Batch - 1) / cfg.Batch
	if opts.Every <= 0 {
		opts.Every = max(1, batches/50)
	}
	t := &Training{
		tr: tr, every: opts.Every, scoresEvery: opts.ScoresEvery, classes: tr.Classes,
		feed:  newFeed(opts.MaxClients, opts.KeepAlive),
		epoch: tr.Epoch, step: tr.Step,
	}

	idx := pickImages(tr.TestSet, tr.Classes, opts.Images)
	labels := make([]int64, len(idx))
	run := runEvent{
		Title: cfg.Model + " on " + cfg.Data, Model: cfg.Model, Data: cfg.Data, Describe: cfg.Describe(),
		Params: nn.NumParams(tr.Model), Epochs: cfg.Epochs, Batches: batches, Batch: cfg.Batch,
		TrainExamples: tr.TrainSet.Len(), TestExamples: tr.TestSet.Len(), Every: opts.Every,
		Classes: classNames(cfg.Data, tr.Classes), StartEpoch: tr.Epoch, StartStep: tr.Step,
		Images: []imageEvent{},
	}
	if len(idx) > 0 {
		x, y := data.Gather(tr.TestSet, idx)
		t.images = x.NoGrad()
		copy(labels, y.I64())
		shape := tr.TestSet.ExampleShape()
		per := x.Numel() / len(idx)
		px := x.F32()
		for i, k := range idx {
			run.Images = append(run.Images, newImageEvent(k, int(labels[i]), shape, px[i*per:(i+1)*per]))
		}
	}
	t.feed.publish("run", run)
	for _, m := range tr.History {
		t.feed.publish("epoch", newEpochEvent(m))
	}
	t.feed.publish("status", statusEvent{State: "ready", Epoch: tr.Epoch, Epochs: cfg.Epochs, Step: tr.Step})
	t.publishScores()
	return t
}

// Register adds the page and the API of the run to s (see Training). It
// must be called before s starts serving, once per Server.
func (t *Training) Register(s *Server) { registerTraining(s, t.feed) }

// registerTraining adds the training page and the API of the run that
// publishes to f.
func registerTraining(s *Server, f *feed) {
	s.Handle("/training", methods(servePage("training.html"), http.MethodGet, http.MethodHead))
	s.Handle("/api/training", methods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handleSnapshot(f, w, r) }), http.MethodGet, http.MethodHead))
	// The event stream stays open for the whole run: its feed bounds its
	// clients (TrainingOptions), not the server's requests in flight.
	s.HandleStream("/api/training/events", methods(http.HandlerFunc(f.serveEvents), http.MethodGet))
}

func nan() float64 { return math.NaN() }

// StartEpoch implements train.Progress.
func (t *Training) StartEpoch(epoch, epochs, batches int) {
	t.winLoss, t.winCorrect, t.winSize, t.winSteps = 0, 0, 0, 0
	t.feed.publish("status", statusEvent{State: "training", Epoch: epoch, Epochs: epochs, Batches: batches, Step: t.step})
}

// Batch implements train.Progress: every Every steps, and at the end of
// the epoch, it publishes a point of the curves, and the scores when they
// are due.
func (t *Training) Batch(s train.BatchStats) {
	t.step = s.Step
	t.winLoss += s.StepLoss * float64(s.Size)
	t.winCorrect += s.StepAcc * float64(s.Size)
	t.winSize += s.Size
	t.winSteps++
	last := s.Batch == s.Batches
	if t.winSteps < t.every && !last {
		return
	}
	n := float64(max(t.winSize, 1))
	t.feed.publish("point", pointEvent{
		Step: s.Step, Epoch: s.Epoch, Epochs: s.Epochs, Batch: s.Batch, Batches: s.Batches,
		Steps: t.winSteps, Loss: jsonNum(t.winLoss / n), Acc: jsonNum(t.winCorrect / n),
		EpochLoss: jsonNum(s.Loss), EpochAcc: jsonNum(s.Acc),
		ImagesPerSec: jsonNum(s.ImagesPerSec), LR: jsonNum(s.LR), Seconds: jsonNum(s.Elapsed.Seconds()),
	})
	t.winLoss, t.winCorrect, t.winSize, t.winSteps = 0, 0, 0, 0
	if last || time.Since(t.lastScores) >= t.scoresEvery {
		t.publishScores()
	}
	if last {
		t.feed.publish("status", statusEvent{State: "evaluating", Epoch: s.Epoch, Epochs: s.Epochs, Batches: s.Batches, Step: s.Step})
	}
}

// EndEpoch implements train.Progress.
func (t *Training) EndEpoch(m train.Metrics) {
	t.epoch = m.Epoch
	t.feed.publish("epoch", newEpochEvent(m))
	// The run goes on (a checkpoint, then the next epoch or the end).
	epochs := t.tr.Config.Epochs
	t.feed.publish("status", statusEvent{State: "training", Epoch: min(m.Epoch+1, epochs), Epochs: epochs, Step: t.step})
}

// Finish publishes the end of the run: finished when err is nil,
// interrupted when it is a context's cancellation, failed otherwise (with
// the error's message). Call it once training has stopped; the streams go
// on (the page shows the final state) until Close.
func (t *Training) Finish(err error) {
	st := statusEvent{State: "finished", Epoch: t.epoch, Epochs: t.tr.Config.Epochs, Step: t.step}
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		st.State = "interrupted"
	default:
		st.State, st.Error = "failed", err.Error()
	}
	t.feed.publish("status", st)
}

// Close ends every event stream (a page then keeps what it shows) and
// refuses new ones. Call it before shutting the server down: a server
// waits for open streams, which would otherwise never end.
func (t *Training) Close() { t.feed.close() }

// publishScores computes the softmax of the model's scores for the test
// images, in evaluation mode, and publishes them. It reads the model, so
// it runs between steps on the training goroutine.
func (t *Training) publishScores() {
	t.lastScores = time.Now()
	if t.images == nil {
		return
	}
	m := t.tr.Model
	if tm, ok := m.(interface{ Training() bool }); ok && tm.Training() {
		// Dropout would make the scores random and BatchNorm would update
		// its running statistics; evaluation mode does neither, and
		// switching back restores the run exactly.
		nn.Eval(m)
		defer nn.Train(m)
	}
	probs := m.Forward(t.images).Softmax(-1).Float64s()
	n := t.images.Size(0)
	per := len(probs) / n
	ev := scoresEvent{Step: t.step, Epoch: t.epoch, Probs: make([][]jsonNum, n)}
	for i := range n {
		row := make([]jsonNum, per)
		for j, p := range probs[i*per : (i+1)*per] {
			row[j] = jsonNum(math.Round(p*1e5) / 1e5) // the page shows percents
		}
		ev.Probs[i] = row
	}
	t.feed.publish("scores", ev)
}

// handleSnapshot answers GET /api/training with the run so far: the
// events of the stream gathered by kind.
func handleSnapshot(f *feed, w http.ResponseWriter, r *http.Request) {
	frames, _ := f.since(0)
	var snap struct {
		Run    json.RawMessage   `json:"run"`
		Status json.RawMessage   `json:"status"`
		Scores json.RawMessage   `json:"scores"`
		Sample json.RawMessage   `json:"sample,omitempty"` // text runs only
		Points []json.RawMessage `json:"points"`
		Epochs []json.RawMessage `json:"epochs"`
	}
	snap.Points, snap.Epochs = []json.RawMessage{}, []json.RawMessage{}
	for _, f := range frames {
		switch f.kind {
		case "run":
			snap.Run = f.data
		case "status":
			snap.Status = f.data
		case "scores":
			snap.Scores = f.data
		case "sample":
			snap.Sample = f.data
		case "point":
			snap.Points = append(snap.Points, f.data)
		case "epoch":
			snap.Epochs = append(snap.Epochs, f.data)
		}
	}
	writeJSON(w, http.StatusOK, snap)
}

// The events' data. Numbers that may not be finite (a diverging run's
// loss) are jsonNum, sent as null.

type runEvent struct {
	Title         string       `json:"title"`
	Model         string       `json:"model"`
	Data          string       `json:"data"`
	Describe      string       `json:"describe"`
	Params        int          `json:"params"`
	Epochs        int          `json:"epochs"`
	Batches       int          `json:"batches"` // per epoch
	Batch         int          `json:"batch"`
	TrainExamples int          `json:"train_examples"`
	TestExamples  int          `json:"test_examples"`
	Every         int          `json:"every"`
	Classes       []string     `json:"classes"`
	StartEpoch    int          `json:"start_epoch"` // epochs done before this run (a resumed one)
	StartStep     int          `json:"start_step"`
	Images        []imageEvent `json:"images"`
	Text          bool         `json:"text,omitempty"` // a language model's run (TextTraining)
}

// imageEvent is a test image: its pixels as bytes, channel by channel
// (shape [channels, height, width]), scaled so that its darkest value is 0
// and its brightest 255. Pixels is empty for examples that are not
// images.
type imageEvent struct {
	Index  int    `json:"index"` // in the test set
	Label  int    `json:"label"`
	Shape  []int  `json:"shape"`
	Pixels string `json:"pixels"` // base64
}

type pointEvent struct {
	Step      int     `json:"step"`
	Epoch     int     `json:"epoch"`
	Epochs    int     `json:"epochs"`
	Batch     int     `json:"batch"`
	Batches   int     `json:"batches"`
	Steps     int     `json:"steps"` // steps averaged
	Loss      jsonNum `json:"loss"`
	Acc       jsonNum `json:"acc"`
	EpochLoss jsonNum `json:"epoch_loss"` // the epoch's running means
	EpochAcc  jsonNum `json:"epoch_acc"`
	// ImagesPerSec is the speed over the epoch so far, Seconds its
	// training time so far.
	ImagesPerSec jsonNum `json:"images_per_s"`
	LR           jsonNum `json:"lr"`
	Seconds      jsonNum `json:"seconds"`
}

type epochEvent struct {
	Epoch        int     `json:"epoch"`
	TrainLoss    jsonNum `json:"train_loss"`
	TrainAcc     jsonNum `json:"train_acc"`
	TestLoss     jsonNum `json:"test_loss"`
	TestAcc      jsonNum `json:"test_acc"`
	Seconds      jsonNum `json:"seconds"`
	ImagesPerSec jsonNum `json:"images_per_s"`
	LR           jsonNum `json:"lr"`
}

func newEpochEvent(m train.Metrics) epochEvent {
	return epochEvent{
		Epoch: m.Epoch, TrainLoss: jsonNum(m.TrainLoss), TrainAcc: jsonNum(m.TrainAcc),
		TestLoss: jsonNum(m.TestLoss), TestAcc: jsonNum(m.TestAcc), Seconds: jsonNum(m.Seconds),
		ImagesPerSec: jsonNum(m.ImagesPerSec), LR: jsonNum(m.LR),
	}
}

type statusEvent struct {
	State   string `json:"state"`
	Epoch   int    `json:"epoch"` // the epoch under way, or the last one done once the run has ended
	Epochs  int    `json:"epochs"`
	Batches int    `json:"batches,omitempty"`
	Step    int    `json:"step"`
	Error   string `json:"error,omitempty"`
	Text    bool   `json:"text,omitempty"` // a language model's run: the epoch is the whole run
}

type scoresEvent struct {
	Step  int `json:"step"`  // after this many steps
	Epoch int `json:"epoch"` // epochs completed
	// Probs[i][c] is the softmax of image i's score for class c.
	Probs [][]jsonNum `json:"probs"`
}

// classNames names the classes for the page: CIFAR-10's names, otherwise
// the class numbers (MNIST's digits).
func classNames(dataName string, classes int) []string {
	out := make([]string, classes)
	for c := range out {
		out[c] = strconv.Itoa(c)
		if dataName == "cifar10" && c < len(data.CIFAR10Classes) {
			out[c] = data.CIFAR10Classes[c]
		}
	}
	return out
}

// pickImages chooses n test examples: the first of each class in turn,
// then the second of each, and so on, looking at the first few thousand
// examples; the first examples not chosen make up for classes that are
// missing there.
func pickImages(ds data.Dataset, classes, n int) []int {
	n = min(n, ds.Len())
	if n <= 0 || classes <= 0 {
		return nil
	}
	const scan, chunk = 4000, 250
	byClass := make([][]int, classes)
	per := 1
	for _, d := range ds.ExampleShape() {
		per *= d
	}
	x := make([]float32, chunk*per)
	y := make([]int64, chunk)
	idx := make([]int, 0, chunk)
	for lo := 0; lo < min(ds.Len(), scan); lo += chunk {
		hi := min(lo+chunk, ds.Len(), scan)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		ds.Fill(idx, x[:len(idx)*per], y[:len(idx)])
		for i, label := range y[:len(idx)] {
			if label >= 0 && int(label) < classes {
				byClass[label] = append(byClass[label], lo+i)
			}
		}
	}
	var out []int
	chosen := map[int]bool{}
	for round := 0; len(out) < n; round++ {
		added := false
		for c := 0; c < classes && len(out) < n; c++ {
			if round < len(byClass[c]) {
				out = append(out, byClass[c][round])
				chosen[byClass[c][round]] = true
				added = true
			}
		}
		if !added {
			break
		}
	}
	for i := 0; len(out) < n; i++ {
		if !chosen[i] {
			out = append(out, i)
		}
	}
	return out
}

// newImageEvent turns an example into bytes to draw. Shapes [C, H, W] and
// [H, W] are images; anything else is sent without pixels.
func newImageEvent(index, label int, shape []int, px []float32) imageEvent {
	ev := imageEvent{Index: index, Label: label}
	switch len(shape) {
	case 3:
		ev.Shape = []int{shape[0], shape[1], shape[2]}
	case 2:
		ev.Shape = []int{1, shape[0], shape[1]}
	default:
		ev.Shape = []int{}
		return ev
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range px {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
	}
	scale := 0.0
	if hi > lo {
		scale = 255 / (hi - lo)
	}
	b := make([]byte, len(px))
	for i, v := range px {
		f := (float64(v) - lo) * scale
		if math.IsNaN(f) {
			f = 0
		}
		b[i] = byte(math.Round(math.Max(0, math.Min(255, f))))
	}
	ev.Pixels = base64.StdEncoding.EncodeToString(b)
	return ev
}
