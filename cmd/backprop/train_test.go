package main

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/data"
)

// The tests train on a slice of MNIST (512 training and 256 test images)
// written as IDX files to a folder, so that each command loads it at once.
const tinyTrain, tinyTest = 512, 256

var tinyOnce struct {
	sync.Once
	dir string
	err error
}

// tinyMNIST returns the folder of the MNIST slice. It is kept in the
// temporary folder between test runs (its name says what it holds) and
// written atomically, so concurrent test binaries do not trip over it.
func tinyMNIST(t *testing.T) string {
	t.Helper()
	tinyOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("backprop-test-mnist-%d-%d", tinyTrain, tinyTest))
		if _, err := os.Stat(filepath.Join(dir, "t10k-labels-idx1-ubyte")); err == nil {
			tinyOnce.dir = dir
			return
		}
		trainSet, testSet, err := data.LoadMNIST("")
		if err != nil {
			tinyOnce.err = err
			return
		}
		tmp, err := os.MkdirTemp(os.TempDir(), "backprop-test-mnist-tmp-")
		if err != nil {
			tinyOnce.err = err
			return
		}
		defer os.RemoveAll(tmp)
		for _, part := range []struct {
			prefix string
			ds     *data.TensorDataset
			n      int
		}{{"train", trainSet, tinyTrain}, {"t10k", testSet, tinyTest}} {
			if err := writeIDX(tmp, part.prefix, part.ds.Slice(0, part.n)); err != nil {
				tinyOnce.err = err
				return
			}
		}
		if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
			if _, serr := os.Stat(dir); serr != nil { // not merely another process's copy
				tinyOnce.err = err
				return
			}
		}
		tinyOnce.dir = dir
	})
	if tinyOnce.err != nil {
		t.Fatalf("preparing the MNIST slice: %v", tinyOnce.err)
	}
	return tinyOnce.dir
}

// writeIDX writes a data set of [1, 28, 28] images with pixels in [0, 1]
// as the two IDX files of MNIST.
func writeIDX(dir, prefix string, ds *data.TensorDataset) error {
	n := ds.Len()
	img := binary.BigEndian.AppendUint32(nil, 0x803)
	for _, d := range []int{n, 28, 28} {
		img = binary.BigEndian.AppendUint32(img, uint32(d))
	}
	for _, v := range ds.Images() {
		img = append(img, byte(math.Round(float64(v)*255)))
	}
	lab := binary.BigEndian.AppendUint32(nil, 0x801)
	lab = binary.BigEndian.AppendUint32(lab, uint32(n))
	for _, y := range ds.Labels() {
		lab = append(lab, byte(y))
	}
	if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644)
}

// trainOK runs a command that must succeed and returns its output.
func trainOK(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, out, errs := cli(t, "", args...)
	if code != 0 {
		t.Fatalf("backprop %s: status %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out, errs
}

func loadState(t *testing.T, path string) checkpoint.State {
	t.Helper()
	st, err := checkpoint.LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sameTensors reports the names of the tensors that differ, bit for bit,
// between a and b, or are in only one.
func sameTensors(a, b map[string]*bp.Tensor) []string {
	var bad []string
	for name, x := range a {
		y, ok := b[name]
		if !ok || x.DType() != y.DType() || !slices.Equal(x.Shape(), y.Shape()) {
			bad = append(bad, name)
			continue
		}
		if x.DType() == bp.Int64 {
			if !slices.Equal(x.Ints(), y.Ints()) {
				bad = append(bad, name)
			}
			continue
		}
		xs, ys := x.Float64s(), y.Float64s()
		for i := range xs {
			if math.Float64bits(xs[i]) != math.Float64bits(ys[i]) {
				bad = append(bad, name)
				break
			}
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			bad = append(bad, name)
		}
	}
	return bad
}

// TestTrainResumeBitForBit trains the mlp 2 epochs straight through, and 1
// epoch then a resumed second one: the checkpoints must agree bit for bit
// in every weight and optimizer tensor. The straight run uses one thread
// and the interrupted one two, so this checks that the thread count does
// not change the result either.
func TestTrainResumeBitForBit(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a.safetensors"), filepath.Join(tmp, "b.safetensors")
	common := []string{"train", "--data-dir", dir, "--batch", "100"} // the last batch is smaller
	trainOK(t, append(common, "--epochs", "2", "--out", a, "--threads", "1")...)
	trainOK(t, append(common, "--epochs", "1", "--out", b, "--threads", "2")...)
	if st := loadState(t, b); st.Epoch != 1 || st.Step != 6 {
		t.Fatalf("after one epoch: epoch %d step %d, want 1 and 6", st.Epoch, st.Step)
	}
	_, errs := trainOK(t, "train", "--resume", b, "--epochs", "2", "--data-dir", dir, "--threads", "2")
	if !strings.Contains(errs, "resuming "+b+" after epoch 1") || strings.Contains(errs, "epoch 1:") || !strings.Contains(errs, "epoch 2:") {
		t.Errorf("resumed run's stderr:\n%s", errs)
	}
	sa, sb := loadState(t, a), loadState(t, b)
	if sa.Epoch != 2 || sb.Epoch != 2 || sa.Step != 12 || sb.Step != 12 {
		t.Errorf("epochs %d %d, steps %d %d", sa.Epoch, sb.Epoch, sa.Step, sb.Step)
	}
	if d := sameTensors(sa.Model, sb.Model); len(d) > 0 {
		t.Errorf("weights differ: %v", d)
	}
	if d := sameTensors(sa.Optim, sb.Optim); len(d) > 0 {
		t.Errorf("optimizer state differs: %v", d)
	}
	if len(sa.Model) != 6 || len(sa.Optim) < 6 {
		t.Errorf("%d weights and %d optimizer tensors", len(sa.Model), len(sa.Optim))
	}
	// Both CSVs have the two epochs, with the same losses.
	ra, rb := readCSV(t, strings.TrimSuffix(a, ".safetensors")+".csv"), readCSV(t, strings.TrimSuffix(b, ".safetensors")+".csv")
	if len(ra) != 3 || len(rb) != 3 || ra[2][1] != rb[2][1] || ra[2][4] != rb[2][4] {
		t.Errorf("CSVs\n%v\n%v", ra, rb)
	}

	// Resuming a finished run does nothing; a changed setting is refused.
	out, _ := trainOK(t, "train", "--resume", b, "--data-dir", dir)
	if !strings.Contains(out, "nothing to do") {
		t.Errorf("stdout %q", out)
	}
	code, out, errs := cli(t, "", "train", "--resume", b, "--epochs", "3", "--lr", "0.1", "--batch", "100", "--data-dir", dir)
	wantError(t, code, out, errs, 1, "--lr 0.1 (the checkpoint has 0.05)")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestTrainDefaultsAndOutputs runs a bare train command (in a temporary
// working folder) and checks what it writes: the checkpoint at the default
// path with its settings and the epoch, the CSV and the plot, a line per
// epoch on stderr (not a terminal) and the summary on stdout.
func TestTrainDefaultsAndOutputs(t *testing.T) {
	dir := tinyMNIST(t)
	t.Chdir(t.TempDir())
	out, errs := trainOK(t, "train", "--model", "softmax", "--epochs", "2", "--data-dir", dir)
	ckpt := filepath.Join("runs", "mnist-softmax.safetensors")
	if !strings.Contains(out, "test accuracy ") || !strings.Contains(out, ckpt) || strings.Count(out, "\n") != 1 {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{
		"training softmax (7850 parameters) on mnist: 512 training and 256 test examples",
		"momentum, lr 0.05, momentum 0.9, batch 128, 2 epochs, seed 1",
		"checkpoint " + ckpt, "\nepoch 1: train loss ", "\nepoch 2: train loss ",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, errs)
		}
	}
	st := loadState(t, ckpt)
	if st.Epoch != 2 || st.Step != 8 || st.ModelName != "softmax" || len(st.RNG) == 0 {
		t.Errorf("checkpoint: epoch %d step %d model %q rng %d bytes", st.Epoch, st.Step, st.ModelName, len(st.RNG))
	}
	if !strings.Contains(st.Meta["train.config"], `"optim":"momentum"`) {
		t.Errorf("settings %s", st.Meta["train.config"])
	}
	rows := readCSV(t, filepath.Join("runs", "mnist-softmax.csv"))
	if len(rows) != 3 || strings.Join(rows[0], ",") != "epoch,train_loss,train_acc,test_loss,test_acc,seconds,images_per_s,lr" || rows[2][0] != "2" {
		t.Errorf("CSV %v", rows)
	}
	f, err := os.Open(filepath.Join("runs", "mnist-softmax.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("plot: %v", err)
	}
}

// TestTrainLearns checks that a short run on the MNIST slice gets well past
// chance: the svm with its defaults (TestEval checks the mlp).
func TestTrainLearns(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	for _, tc := range []struct {
		args []string
		min  float64
	}{
		{[]string{"--model", "svm", "--epochs", "3"}, 0.6},
	} {
		out := filepath.Join(tmp, tc.args[1]+".safetensors")
		trainOK(t, append([]string{"train", "--data-dir", dir, "--out", out, "--progress=false"}, tc.args...)...)
		rows := readCSV(t, strings.TrimSuffix(out, ".safetensors")+".csv")
		var acc float64
		fmt.Sscan(rows[len(rows)-1][4], &acc)
		if acc < tc.min {
			t.Errorf("%v: test accuracy %v, want at least %v", tc.args, acc, tc.min)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	garbage := filepath.Join(tmp, "garbage.safetensors")
	os.WriteFile(garbage, []byte("this is not a checkpoint at all, not even close"), 0o644)
	weights := filepath.Join(tmp, "weights.safetensors")
	if err := checkpoint.Save(weights, map[string]*bp.Tensor{"w": bp.Zeros(2, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "resnet"}, `unknown model "resnet"`},
		{[]string{"--optim", "lbfgs"}, `--optim "lbfgs": want one of`},
		{[]string{"--lr", "-1"}, "--lr -1: want a positive number"},
		{[]string{"--lr", "abc"}, `invalid argument "abc" for "--lr"`},
		{[]string{"--epochs", "0"}, "--epochs 0: want at least 1"},
		{[]string{"--batch", "0"}, "--batch 0: want at least 1"},
		{[]string{"--data", "imagenet"}, `--data "imagenet"`},
		{[]string{"--schedule", "linear"}, `--schedule "linear"`},
		{[]string{"--threads", "0"}, "--threads 0: want at least 1"},
		{[]string{"--model", "cnn", "--momentum", "0.5"}, "--momentum 0.5 does not apply to --optim adam"},
		{[]string{"--train-size", "100000"}, "--train-size 100000: the data set has only 512 examples"},
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"extra"}, `train takes no arguments, only flags (got "extra")`},
		{[]string{"--out", tmp}, "is a directory"},
		{[]string{"--resume", filepath.Join(tmp, "missing.safetensors")}, "no such file"},
		{[]string{"--resume", garbage}, "garbage.safetensors"},
		{[]string{"--resume", weights}, "not written by backprop train"},
		{[]string{"--data", "cifar10", "--data-dir", tmp}, "data_batch_1.bin"},
	} {
		args := append([]string{"train", "--data-dir", dir}, tc.args...)
		code, out, errs := cli(t, "", args...)
		wantError(t, code, out, errs, 1, tc.want)
	}
	// A data folder without MNIST in it.
	code, out, errs := cli(t, "", "train", "--data-dir", tmp)
	wantError(t, code, out, errs, 1, "train-images-idx3-ubyte")
}

// fakeCIFAR writes a CIFAR-10 folder of per records in each of the six
// batch files, each image a flat colour that depends on its class.
func fakeCIFAR(t *testing.T, per int) string {
	t.Helper()
	dir := t.TempDir()
	names := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for f, name := range names {
		var b []byte
		for i := range per {
			label := byte((f + i) % 10)
			b = append(b, label)
			for c := range 3 {
				v := byte(int(label)*25 + c*7 + i%5)
				for range 1024 {
					b = append(b, v)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTrainCIFAR10 trains the cnn on a small fake CIFAR-10 folder and
// evaluates it: the checkpoint remembers its data set, and the confusion
// table names the classes.
func TestTrainCIFAR10(t *testing.T) {
	dir := fakeCIFAR(t, 12)
	out := filepath.Join(t.TempDir(), "cifar.safetensors")
	trainOK(t, "train", "--data", "cifar10", "--data-dir", dir, "--model", "cnn", "--epochs", "1", "--batch", "30", "--out", out)
	st := loadState(t, out)
	if st.ModelName != "cnn" || !strings.Contains(st.Meta["train.config"], `"data":"cifar10"`) || st.Step != 2 {
		t.Errorf("checkpoint: model %q step %d settings %s", st.ModelName, st.Step, st.Meta["train.config"])
	}
	if w := st.Model["0.weight"]; w == nil || !slices.Equal(w.Shape(), []int{32, 3, 3, 3}) {
		t.Errorf("first conv weight %v", w)
	}
	stdout, _ := trainOK(t, "eval", "--model", out, "--data-dir", dir)
	if !strings.Contains(stdout, "cnn on the cifar10 test set") || !strings.Contains(stdout, "\n0 airplane ") || !strings.Contains(stdout, "\n9 truck ") || !strings.Contains(stdout, "of 12)") {
		t.Errorf("eval output:\n%s", stdout)
	}
	// The CIFAR-10 cnn cannot evaluate MNIST.
	code, so, se := cli(t, "", "eval", "--model", out, "--data", "mnist", "--data-dir", tinyMNIST(t))
	wantError(t, code, so, se, 1, "the weights do not fit a cnn for mnist data")
}

// sse is a server-sent event.
type sse struct{ kind, data string }

// readSSE sends the events of a stream to ch, and closes it when the
// stream ends.
func readSSE(body io.Reader, ch chan<- sse) {
	defer close(ch)
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	var ev sse
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.kind != "" {
				ch <- ev
			}
			ev = sse{}
		case strings.HasPrefix(line, "event: "):
			ev.kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// followTraining sets trainServing to open the page and its event stream
// before training starts; the channel it returns gets the stream's events
// (the first, the run's settings, already read then) until it ends.
func followTraining(t *testing.T) (events <-chan sse, url *string) {
	t.Helper()
	ch := make(chan sse, 4096)
	var pageURL string
	trainServing = func(u string) {
		pageURL = u
		page, err := http.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			close(ch)
			return
		}
		body, _ := io.ReadAll(page.Body)
		page.Body.Close()
		if page.StatusCode != 200 || !strings.Contains(string(body), "/static/training.js") {
			t.Errorf("GET %s: %d %.100q", u, page.StatusCode, body)
		}
		resp, err := http.Get(strings.TrimSuffix(u, "training") + "api/training/events")
		if err != nil {
			t.Errorf("event stream: %v", err)
			close(ch)
			return
		}
		t.Cleanup(func() { resp.Body.Close() })
		first := make(chan sse, 4096)
		go readSSE(resp.Body, first)
		// The first event means the stream follows the run: train on.
		ev, ok := <-first
		if !ok || ev.kind != "run" {
			t.Errorf("the stream starts with %v", ev)
		}
		go func() {
			defer close(ch)
			ch <- ev
			for ev := range first {
				ch <- ev
			}
		}()
	}
	t.Cleanup(func() { trainServing = nil })
	return ch, &pageURL
}

// collect reads events until the stream ends.
func collect(t *testing.T, ch <-chan sse) []sse {
	t.Helper()
	var got []sse
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("the event stream did not end (%d events)", len(got))
		}
	}
}

// TestTrainServe trains with --serve and a client on the page's event
// stream from before the first step: it follows the whole run, and with
// --serve-exit the command and the stream end with the run. A run that
// fails shows it on the page too.
func TestTrainServe(t *testing.T) {
	dir := tinyMNIST(t)
	tmp := t.TempDir()
	events, url := followTraining(t)
	stdout, stderr := trainOK(t, "train", "--model", "softmax", "--epochs", "2", "--data-dir", dir,
		"--out", filepath.Join(tmp, "s.safetensors"), "--serve", "--addr", "127.0.0.1:0", "--serve-exit")
	if !strings.HasPrefix(*url, "http://127.0.0.1:") || !strings.HasSuffix(*url, "/training") ||
		!strings.HasPrefix(stderr, "backprop: training page at "+*url+"\n") {
		t.Errorf("page %q; stderr:\n%s", *url, stderr)
	}
	if !strings.Contains(stderr, "\nepoch 2: train loss ") || strings.Contains(stderr, "Ctrl-C") ||
		!strings.HasPrefix(stdout, "test accuracy ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("stdout %q, stderr:\n%s", stdout, stderr)
	}
	evs := collect(t, events)
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.kind]++
	}
	// 512 examples in batches of 128: 4 steps an epoch, a point each.
	last := evs[len(evs)-1]
	if count["run"] != 1 || count["point"] != 8 || count["epoch"] != 2 || count["scores"] < 2 ||
		last.kind != "status" || !strings.Contains(last.data, `"state":"finished"`) {
		t.Errorf("events %v, the last %v", count, last)
	}
	for _, ev := range evs {
		if ev.kind == "point" && strings.Contains(ev.data, `"step":8,`) && !strings.Contains(ev.data, `"batch":4,"batches":4`) {
			t.Errorf("last point %s", ev.data)
		}
	}

	// A diverging run: the page says why.
	events, _ = followTraining(t)
	code, stdout, stderr := cli(t, "", "train", "--model", "mlp", "--lr", "1e30", "--epochs", "1", "--data-dir", dir,
		"--out", filepath.Join(tmp, "d.safetensors"), "--serve", "--addr", "127.0.0.1:0", "--serve-exit", "--progress=false")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "diverged") {
		t.Errorf("diverging run: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	evs = collect(t, events)
	if last := evs[len(evs)-1]; last.kind != "status" || !strings.Contains(last.data, `"state":"failed"`) || !strings.Contains(last.data, "diverged") {
		t.Errorf("the diverging run's last event %v", last)
	}
}

func TestTrainServeErrors(t *testing.T) {
	dir := tinyMNIST(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "127.0.0.1:0"}, "--addr applies only with --serve"},
		{[]string{"--serve-exit"}, "--serve-exit applies only with --serve"},
		{[]string{"--serve", "--addr", busy.Addr().String()}, "--addr: cannot listen on " + busy.Addr().String()},
		{[]string{"--serve", "--addr", "nonsense"}, "--addr: cannot listen on nonsense"},
	} {
		code, out, errs := cli(t, "", append([]string{"train", "--data-dir", dir, "--out", filepath.Join(t.TempDir(), "x.safetensors")}, tc.args...)...)
		wantError(t, code, out, errs, 1, tc.want)
	}
}
