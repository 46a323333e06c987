package train

import (
	"bufio"
	"encoding/csv"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gobackprop/backprop/checkpoint"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// CSVHeader is the first row of a metrics CSV: one column per field of
// Metrics, accuracies as fractions.
var CSVHeader = []string{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds", "images_per_s", "lr"}

// SidePaths returns the paths of the metrics CSV and the plot that go with
// a checkpoint: its path with the extension replaced by .csv and .png.
func SidePaths(checkpointPath string) (csvPath, pngPath string) {
	base := strings.TrimSuffix(checkpointPath, filepath.Ext(checkpointPath))
	return base + ".csv", base + ".png"
}

// WriteCSV writes the metrics as CSV with the header CSVHeader.
func WriteCSV(w io.Writer, hist []Metrics) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, m := range hist {
		row := []string{strconv.Itoa(m.Epoch), f(m.TrainLoss), f(m.TrainAcc), f(m.TestLoss), f(m.TestAcc),
			strconv.FormatFloat(m.Seconds, 'f', 3, 64), strconv.FormatFloat(m.ImagesPerSec, 'f', 1, 64), f(m.LR)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCSVFile writes the metrics CSV to path atomically.
func WriteCSVFile(path string, hist []Metrics) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error { return WriteCSV(w, hist) })
}

// Plot draws the loss (left) and accuracy (right) of the training and test
// sets against the epoch, and writes it to w as a PNG image.
func Plot(w io.Writer, hist []Metrics, title string) error {
	var trL, teL, trA, teA plotter.XYs
	for _, m := range hist {
		x := float64(m.Epoch)
		trL = append(trL, plotter.XY{X: x, Y: m.TrainLoss})
		teL = append(teL, plotter.XY{X: x, Y: m.TestLoss})
		trA = append(trA, plotter.XY{X: x, Y: 100 * m.TrainAcc})
		teA = append(teA, plotter.XY{X: x, Y: 100 * m.TestAcc})
	}
	panel := func(name, unit string, train, test plotter.XYs) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title + ": " + name
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = unit
		p.Legend.Top = name == "loss" // where the curves are not, late in a run
		p.X.Tick.Marker = epochTicks{}
		if len(train) > 0 {
			if err := plotutil.AddLinePoints(p, "train", train, "test", test); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	loss, err := panel("loss", "mean loss", trL, teL)
	if err != nil {
		return err
	}
	acc, err := panel("accuracy", "accuracy (%)", trA, teA)
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(720), vg.Points(300))
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(16), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	plots := [][]*plot.Plot{{loss, acc}}
	cs := plot.Align(plots, tiles, draw.New(img))
	loss.Draw(cs[0][0])
	acc.Draw(cs[0][1])
	bw := bufio.NewWriter(w)
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// PlotFile writes the plot of Plot to path atomically.
func PlotFile(path string, hist []Metrics, title string) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error { return Plot(w, hist, title) })
}

// epochTicks labels whole epochs only: the default ticks would put
// fractions of an epoch on a short run.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1
	for (hi-lo)/float64(step) > 10 {
		step *= 2
	}
	var ts []plot.Tick
	for e := int(lo); float64(e) <= hi; e++ {
		if float64(e) < lo || e < 1 {
			continue
		}
		t := plot.Tick{Value: float64(e)}
		if (e-1)%step == 0 {
			t.Label = strconv.Itoa(e)
		}
		ts = append(ts, t)
	}
	return ts
}
