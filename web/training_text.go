package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
)

// TextTraining publishes a language model's training run (a
// train.TextTrainer) to the same page and API as Training: the page draws
// the training loss against the step, the validation loss at each
// evaluation, and a sample of generated text, refreshed at each
// evaluation. It is the run's train.TextProgress.
//
// Its events are those of Training with these differences: run has text
// true, no classes and no images; point's epoch is 1 and its batch is the
// step (batches is the run's steps), so the page's progress still reads;
// epoch is one evaluation, keyed by its step (epoch = step), with the
// validation loss as test_loss and no accuracies; and a new event,
//
//	sample  text the model generated after the step it names
//
// which, like status, a slow client gets only the newest of.
//
// NewTextTraining, Step and Eval must be called on the goroutine that
// trains (TextTrainer.Run does).
type TextTraining struct {
	tr    *train.TextTrainer
	every int
	feed  *feed
	step  int

	winLoss  float64
	winSteps int
}

// SampleBytes is the length of the text sample the page shows.
const SampleBytes = 200

// sampleSeed fixes the sampler's draws, so that two samples differ only
// because the model learned.
const sampleSeed = 1

// NewTextTraining returns the TextTraining of tr, with its settings, its
// evaluations so far (a resumed run's) and a sample of the model as it is
// now. Of opts, Every (0: about 200 points a run), KeepAlive and
// MaxClients apply.
func NewTextTraining(tr *train.TextTrainer, opts TrainingOptions) *TextTraining {
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = 64
	}
	cfg := tr.Config
	if opts.Every <= 0 {
		opts.Every = max(1, cfg.Steps/200)
	}
	t := &TextTraining{tr: tr, every: opts.Every, feed: newFeed(opts.MaxClients, opts.KeepAlive), step: tr.Step}
	t.feed.publish("run", runEvent{
		Title: cfg.Model + " on text", Model: cfg.Model, Data: "text", Text: true,
		Describe: fmt.Sprintf("%d layers, embd %d, context %d, batch %d, vocabulary %d", cfg.Layers, cfg.Embd, cfg.Context, cfg.Batch, tr.Vocab.Size()),
		Params:   nn.NumParams(tr.Model), Epochs: 1, Batches: cfg.Steps, Batch: cfg.Batch, Every: opts.Every,
		Classes: []string{}, StartStep: tr.Step, Images: []imageEvent{},
	})
	for _, m := range tr.History {
		t.feed.publish("epoch", newEvalEvent(m))
	}
	t.feed.publish("status", t.status("ready"))
	t.publishSample()
	return t
}

// Register adds the page and the API of the run to s, as Training's does.
func (t *TextTraining) Register(s *Server) { registerTraining(s, t.feed) }

func (t *TextTraining) status(state string) statusEvent {
	return statusEvent{State: state, Epoch: 1, Epochs: 1, Batches: t.tr.Config.Steps, Step: t.step, Text: true}
}

// Step implements train.TextProgress: every Every steps it publishes a
// point of the loss curve.
func (t *TextTraining) Step(s train.TextStep) {
	if t.winSteps == 0 {
		t.feed.publish("status", t.status("training"))
	}
	t.step = s.Step
	t.winLoss += s.Loss
	t.winSteps++
	if t.winSteps < t.every && s.Step != s.Steps {
		return
	}
	t.feed.publish("point", pointEvent{
		Step: s.Step, Epoch: 1, Epochs: 1, Batch: s.Step, Batches: s.Steps, Steps: t.winSteps,
		Loss: jsonNum(t.winLoss / float64(t.winSteps)), Acc: jsonNum(nan()), EpochLoss: jsonNum(s.Loss), EpochAcc: jsonNum(nan()),
		ImagesPerSec: jsonNum(s.TokensPerS), LR: jsonNum(s.LR),
	})
	t.winLoss, t.winSteps = 0, 0
}

// Eval implements train.TextProgress: it publishes the evaluation and a
// new sample.
func (t *TextTraining) Eval(m train.TextMetrics) {
	t.step = m.Step
	t.feed.publish("epoch", newEvalEvent(m))
	t.publishSample()
}

// Finish publishes the end of the run, as Training's does.
func (t *TextTraining) Finish(err error) {
	st := t.status("finished")
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		st.State = "interrupted"
	default:
		st.State, st.Error = "failed", err.Error()
	}
	t.feed.publish("status", st)
}

// Close ends every event stream, as Training's does.
func (t *TextTraining) Close() { t.feed.close() }

// publishSample generates SampleBytes tokens from the model (without a
// graph, in evaluation mode: train.Generate sees to both) with a fixed
// seed. It reads the model, so it runs between steps.
func (t *TextTraining) publishSample() {
	ev := sampleEvent{Step: t.step}
	b, err := t.tr.Sample(nil, SampleBytes, nn.Sampler{Temperature: 0.8, RNG: bp.NewRNG(sampleSeed)})
	if err != nil {
		ev.Error = err.Error()
	}
	// JSON strings must be UTF-8; a byte-level model may cut a rune.
	ev.Text = strings.ToValidUTF8(string(b), string(utf8.RuneError))
	t.feed.publish("sample", ev)
}

type sampleEvent struct {
	Step  int    `json:"step"` // after this many steps
	Text  string `json:"text"`
	Error string `json:"error,omitempty"`
}

func newEvalEvent(m train.TextMetrics) epochEvent {
	return epochEvent{
		Epoch: m.Step, TrainLoss: jsonNum(m.TrainLoss), TrainAcc: jsonNum(nan()),
		TestLoss: jsonNum(m.ValLoss), TestAcc: jsonNum(nan()), Seconds: jsonNum(m.ElapsedSecs),
		ImagesPerSec: jsonNum(m.TokensPerS), LR: jsonNum(m.LR),
	}
}
