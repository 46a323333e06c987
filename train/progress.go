package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress hears about a run as it goes: StartEpoch before an epoch's
// first batch, Batch after each training step, EndEpoch once the epoch has
// been evaluated. It runs on the training goroutine, so it should be
// quick.
type Progress interface {
	StartEpoch(epoch, epochs, batches int)
	Batch(s BatchStats)
	EndEpoch(m Metrics)
}

// NewProgress returns the Progress of the train command writing to w: a
// progress bar per epoch when w is a terminal, and otherwise only the
// epochs' summary lines, so that logs stay readable.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &bar{w: w}
	}
	return Lines{W: w}
}

// Lines is a Progress that writes one line per epoch (EpochLine).
type Lines struct{ W io.Writer }

// StartEpoch does nothing.
func (Lines) StartEpoch(epoch, epochs, batches int) {}

// Batch does nothing.
func (Lines) Batch(BatchStats) {}

// EndEpoch writes the epoch's line.
func (l Lines) EndEpoch(m Metrics) { fmt.Fprintln(l.W, EpochLine(m)) }

// EpochLine is an epoch's summary in one line:
//
//	epoch 2: train loss 0.0912 acc 97.21% | test loss 0.0850 acc 97.36% | 11.2 s, 5357 img/s
func EpochLine(m Metrics) string {
	return fmt.Sprintf("epoch %d: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s, %.0f img/s",
		m.Epoch, m.TrainLoss, 100*m.TrainAcc, m.TestLoss, 100*m.TestAcc, m.Seconds, m.ImagesPerSec)
}

// silent is the Progress of a nil one.
type silent struct{}

func (silent) StartEpoch(epoch, epochs, batches int) {}
func (silent) Batch(BatchStats)                      {}
func (silent) EndEpoch(Metrics)                      {}

// bar draws a progress bar for the epoch being trained, showing the
// running loss, accuracy and speed, and replaces it with the epoch's line
// when the epoch ends.
type bar struct {
	w    io.Writer
	pb   *progressbar.ProgressBar
	last time.Time
}

func (b *bar) StartEpoch(epoch, epochs, batches int) {
	b.pb = progressbar.NewOptions(batches,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionSetWidth(24),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	b.last = time.Time{}
}

func (b *bar) Batch(s BatchStats) {
	// Describe redraws the bar; do it a few times a second at most.
	if now := time.Now(); now.Sub(b.last) >= 200*time.Millisecond || s.Batch == s.Batches {
		b.last = now
		b.pb.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.2f%% %.0f img/s", s.Epoch, s.Epochs, s.Loss, 100*s.Acc, s.ImagesPerSec))
	}
	b.pb.Add(1)
}

func (b *bar) EndEpoch(m Metrics) {
	if b.pb != nil {
		b.pb.Finish()
		b.pb.Clear()
	}
	fmt.Fprintln(b.w, EpochLine(m))
}
