package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/nn"
	"github.com/gobackprop/backprop/train"
	"github.com/gobackprop/backprop/web"
)

func init() { register(newTrainCmd) }

// trainFlags holds the values of the train command's flags. Which of them
// the user set is read from the flag set, since a flag left alone takes the
// model's default (or, when resuming, the checkpoint's setting).
type trainFlags struct {
	cfg      train.Config // the settings flags, parsed into place
	dataDir  string
	threads  int
	out      string
	resume   string
	progress bool
	anomaly  bool // --detect-anomaly

	serve     bool   // serve the live training page
	addr      string // where
	serveExit bool   // stop serving when training ends, rather than at Ctrl-C

	collectiveTimeout time.Duration // under mpirun: abort when a collective waits longer
	text              textFlags     // --data text
}

const trainLong = `train trains a model on MNIST (or CIFAR-10), shows a progress bar per epoch with
the loss, accuracy and speed, evaluates the test set after every epoch, and
saves a checkpoint after every epoch: weights, optimizer state, epoch, step,
random generator state and the settings, in a safetensors file (written
atomically). Beside it go the metrics of every epoch as CSV (epoch, train
loss, train acc, test loss, test acc, seconds, images/s, lr) and a PNG plot of
the loss and accuracy curves, with the same base name. --out is checked before
training starts. A --out that is a named pipe or a device (/dev/null,
/dev/stdout) is written in place, never replaced: it receives one checkpoint
per epoch, one after another, and no CSV or plot.

Models (--model):
  softmax  a linear classifier with softmax cross-entropy
  svm      a linear classifier with the multiclass hinge loss
  mlp      784-512-512-10 with ReLU
  cnn      conv 32 3x3 pad 1, ReLU, maxpool 2, conv 64 3x3 pad 1, ReLU,
           maxpool 2, linear 128, ReLU, linear 10

Each model comes with settings that train it well, so a bare
"backprop train --model cnn" is already a good run; flags override them:
  mlp      --optim momentum --lr 0.05 --momentum 0.9 --batch 128 --epochs 5
  cnn      --optim adam --lr 0.001 --batch 64 --epochs 3
  softmax  --optim momentum --lr 0.05 --momentum 0.9 --batch 128 --epochs 5
  svm      --optim momentum --lr 0.01 --momentum 0.9 --batch 128 --epochs 5
Choosing another --optim brings that optimizer's own defaults (lr 0.05 and
momentum 0.9 for the SGD family, lr 0.001 for rmsprop, adam and adamw, weight
decay 0.01 for adamw) unless --lr, --momentum or --weight-decay are given. The
learning rate is constant unless --schedule or --warmup asks otherwise.

--epochs is the total number of epochs, not the number still to train:
"--resume FILE --epochs 5" continues a run saved after epoch 3 for 2 more.
A resumed run keeps the settings in its checkpoint, and continues to the
same weights, bit for bit, as a run that never stopped. Flags that would
change them (anything but --epochs, --test-size, --threads, --data-dir and
--out) are refused unless they repeat the checkpoint's values; --epochs may
not change under the cosine schedule, whose shape depends on it. Without
--out a resumed run goes on writing to FILE.

--threads sets how many cores the kernels use (and GOMAXPROCS); the results do
not depend on it.

--serve also serves a page that shows the run live (its address is printed at
the start): the loss and accuracy curves, images/s, the epoch's progress and a
few test images with the model's score for each class, as training goes. The
page and its assets are built in; the server listens on --addr, 127.0.0.1:8080
(this machine only) unless told otherwise. When training ends the page shows
the final state and the server goes on until Ctrl-C, or stops at once with
--serve-exit.`

const trainExample = `  backprop train                          # mlp on MNIST, 5 epochs, to runs/mnist-mlp.safetensors
  backprop train --model cnn --threads 2
  backprop train --model softmax --epochs 3 --out softmax.safetensors
  backprop train --model mlp --optim adamw --schedule cosine --warmup 200
  backprop train --resume runs/mnist-mlp.safetensors --epochs 8
  backprop train --model cnn --serve      # and open the printed address to watch it learn
  backprop train --data cifar10 --data-dir ~/data/cifar-10-batches-bin --model cnn`

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:     "train [flags]",
		Short:   "Train a model on MNIST or CIFAR-10, with checkpoints, metrics and a plot",
		Long:    trainLong + trainDistLong + trainTextHelp,
		Example: trainExample + trainTextExample,
		Args:    noArgs("train"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrain(cmd, &f)
		},
	}
	fs := cmd.Flags()
	c := &f.cfg
	fs.StringVar(&c.Data, "data", "mnist", "data set: "+strings.Join(train.DataNames(), ", ")+" or text")
	fs.StringVar(&f.dataDir, "data-dir", "", "`folder` of the data set's files (default: MNIST from the GoMNIST Go module or $MNIST_DIR; $CIFAR10_DIR)")
	fs.StringVar(&c.Model, "model", "mlp", "model: "+strings.Join(nn.ModelNames(), ", ")+"; "+strings.Join(train.TextModelNames(), " or ")+" with --data text (which defaults to gpt)")
	fs.IntVar(&c.Epochs, "epochs", 0, "total epochs (default: the model's)")
	fs.IntVar(&c.Batch, "batch", 0, "batch size (default: the model's)")
	fs.StringVar(&c.Optim, "optim", "", "optimizer: "+strings.Join(train.OptimNames(), ", ")+" (default: the model's)")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (default: the model's, or the optimizer's)")
	fs.Float64Var(&c.Momentum, "momentum", 0, "momentum of momentum, nesterov and rmsprop (default 0.9 for momentum and nesterov)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0, "weight decay (L2 penalty; decoupled for adamw, whose default is 0.01)")
	fs.StringVar(&c.Schedule, "schedule", "constant", "learning-rate schedule: constant, step (x gamma every step-size epochs) or cosine (to 0 over the run)")
	fs.IntVar(&c.StepSize, "step-size", 2, "epochs between the step schedule's decays")
	fs.Float64Var(&c.Gamma, "gamma", 0.1, "factor of each of the step schedule's decays")
	fs.IntVar(&c.Warmup, "warmup", 0, "warm the learning rate up linearly over this many steps (batches) first")
	fs.Float64Var(&c.ClipGradNorm, "clip-grad-norm", 0, "clip the gradients' global L2 norm to this before each step (0: off)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed of the initial weights and the shuffling (--data text: 0 unless given, as the twin)")
	fs.IntVar(&c.TrainSize, "train-size", 0, "train on the first `N` training examples only (0: all)")
	fs.IntVar(&c.TestSize, "test-size", 0, "evaluate on the first `N` test examples only (0: all)")
	fs.IntVar(&f.threads, "threads", 0, "cores to use (default: all, GOMAXPROCS; under mpirun, the cores divided by the processes on this machine)")
	fs.StringVar(&f.out, "out", "", "checkpoint `file` (default runs/DATA-MODEL.safetensors, or the --resume file)")
	fs.StringVar(&f.resume, "resume", "", "continue the run saved in checkpoint `file`")
	fs.BoolVar(&f.anomaly, "detect-anomaly", false, "stop at the first op whose output or gradient holds NaN or Inf, naming it and where it was recorded (slower)")
	fs.BoolVar(&f.progress, "progress", true, "show progress on standard error (a bar on a terminal, else a line per epoch)")
	fs.BoolVar(&f.serve, "serve", false, "serve a page that shows the training live (its address is printed)")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "with --serve: listen on `HOST:PORT` (port 0 picks a free one)")
	fs.BoolVar(&f.serveExit, "serve-exit", false, "with --serve: stop serving when training ends, instead of at Ctrl-C")
	fs.DurationVar(&f.collectiveTimeout, "collective-timeout", dist.DefaultTimeout, "under mpirun: abort the job when a process waits this long for the others")
	addTextFlags(fs, &f.text)
	return cmd
}

// noArgs refuses positional arguments with a message naming the command.
func noArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("%s takes no arguments, only flags (got %q); see backprop %s --help", name, args[0], name)
		}
		return nil
	}
}

// settingFlags are the flags that set a field of train.Config, by name.
var settingFlags = []string{"data", "model", "epochs", "batch", "optim", "lr", "momentum", "weight-decay",
	"schedule", "step-size", "gamma", "warmup", "clip-grad-norm", "seed", "train-size", "test-size"}

// resolveConfig merges the flags the user set into base: a fresh run's
// model defaults, or a resumed run's saved settings. In a fresh run another
// optimizer brings its own defaults first (train.Config.SetOptim).
func resolveConfig(fs *pflag.FlagSet, parsed, base train.Config, fresh bool) train.Config {
	c := base
	set := fs.Changed
	if set("optim") && fresh {
		c.SetOptim(parsed.Optim)
	}
	for _, name := range settingFlags {
		if !set(name) {
			continue
		}
		switch name {
		case "data":
			c.Data = parsed.Data
		case "model":
			c.Model = parsed.Model
		case "epochs":
			c.Epochs = parsed.Epochs
		case "batch":
			c.Batch = parsed.Batch
		case "optim":
			c.Optim = parsed.Optim
		case "lr":
			c.LR = parsed.LR
		case "momentum":
			c.Momentum = parsed.Momentum
		case "weight-decay":
			c.WeightDecay = parsed.WeightDecay
		case "schedule":
			c.Schedule = parsed.Schedule
		case "step-size":
			c.StepSize = parsed.StepSize
		case "gamma":
			c.Gamma = parsed.Gamma
		case "warmup":
			c.Warmup = parsed.Warmup
		case "clip-grad-norm":
			c.ClipGradNorm = parsed.ClipGradNorm
		case "seed":
			c.Seed = parsed.Seed
		case "train-size":
			c.TrainSize = parsed.TrainSize
		case "test-size":
			c.TestSize = parsed.TestSize
		}
	}
	return c
}

func runTrain(cmd *cobra.Command, f *trainFlags) error {
	fs := cmd.Flags()
	stderr := cmd.ErrOrStderr()
	if isTextRun(fs, f) {
		return runTrainText(cmd, f)
	}
	if err := checkImageFlags(fs); err != nil {
		return err
	}

	// Everything that can be wrong with the command line or the files is
	// checked before anything is printed, so that such an error is the one
	// line the user sees.
	if err := checkThreads(cmd, f.threads); err != nil {
		return err
	}
	if fs.Changed("out") && f.out == "" {
		return errors.New("--out needs a file name (leave it out for the default)")
	}
	// An empty --resume (an unset shell variable) would otherwise start a
	// new run over the default checkpoint.
	if fs.Changed("resume") && f.resume == "" {
		return errors.New("--resume needs a checkpoint file")
	}
	if !f.serve {
		for _, name := range []string{"addr", "serve-exit"} {
			if fs.Changed(name) {
				return fmt.Errorf("--%s applies only with --serve", name)
			}
		}
	}
	var (
		cfg   train.Config
		st    checkpoint.State
		saved train.Config
	)
	if f.resume != "" {
		var err error
		if st, err = checkpoint.LoadState(f.resume); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if saved, err = train.ConfigOf(st); err != nil {
			return fmt.Errorf("--resume %s: %w", f.resume, err)
		}
		cfg = resolveConfig(fs, f.cfg, saved, false)
		// Mismatches first: they name only flags the user gave, while
		// Validate could blame a saved setting that a new flag (another
		// --optim) makes invalid.
		if d := saved.Mismatch(cfg); len(d) > 0 {
			return fmt.Errorf("--resume %s: a resumed run keeps the settings it was started with, but the flags ask for %s; drop those flags, or start a new run with --out", f.resume, strings.Join(d, ", "))
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
	} else {
		base, err := train.Defaults(f.cfg.Model)
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		cfg = resolveConfig(fs, f.cfg, base, true)
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	out := f.out
	switch {
	case out != "":
	case f.resume != "":
		out = f.resume
	default:
		out = filepath.Join("runs", cfg.Data+"-"+cfg.Model+".safetensors")
	}
	if err := checkOut(out, true); err != nil {
		return err
	}

	if n := worldSizeFromEnv(); n > 1 && cfg.Batch%n != 0 {
		return train.BatchError(cfg.Batch, n)
	}
	if f.resume != "" && st.Epoch >= cfg.Epochs {
		if !rankZeroFromEnv() {
			return nil
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s has already trained %d of %d epochs: nothing to do (--epochs is the total; raise it to train on)\n", f.resume, st.Epoch, cfg.Epochs)
		return nil
	}

	trainSet, testSet, err := train.LoadData(cfg.Data, f.dataDir)
	if err != nil {
		return err
	}
	tr, err := train.New(cfg, trainSet, testSet)
	if err != nil {
		return err
	}
	dr, err := startRank(tr, f, st, out, stderr)
	if err != nil {
		return err
	}
	err = trainRank(cmd, f, tr, out, dr)
	return dr.finish(err)
}

// trainRank trains; under mpirun, only rank 0 prints, writes and serves.
func trainRank(cmd *cobra.Command, f *trainFlags, tr *train.Trainer, out string, dr *distRun) error {
	stderr := cmd.ErrOrStderr()
	if !cmd.Flags().Changed("threads") {
		f.threads = defaultThreads()
	}
	root := dr.rank() == 0
	if !root {
		f.progress, f.serve = false, false
	}
	var err error
	if f.threads > 0 {
		prev := runtime.GOMAXPROCS(f.threads)
		bp.SetThreads(f.threads)
		defer func() {
			runtime.GOMAXPROCS(prev)
			bp.SetThreads(0)
		}()
	}

	var progress train.Progress
	if f.progress {
		progress = train.NewProgress(stderr)
	}
	var page *livePage
	if f.serve {
		tp := web.NewTraining(tr, web.TrainingOptions{})
		if page, err = startLivePage(tp, f.addr, stderr); err != nil {
			return err
		}
		defer page.stop()
		progress = tee(progress, tp)
	}
	if f.progress {
		printHeader(stderr, tr, f, out)
		if dr != nil && dr.comm.Size() > 1 {
			fmt.Fprintf(stderr, "  %s\n", dr.describe(tr.Config.Batch))
		}
	}

	if f.anomaly {
		bp.SetDetectAnomaly(true)
		defer bp.SetDetectAnomaly(false)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	err = tr.Run(ctx, out, progress)
	if page != nil {
		page.training.Finish(err)
		if err != nil && !errors.Is(err, context.Canceled) && !f.serveExit {
			// Keep the curves up: they show how the run went wrong. The
			// error itself is the command's last line.
			fmt.Fprintf(stderr, "backprop: training failed; %s shows the run until Ctrl-C\n", page.url)
			<-ctx.Done()
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			if tr.Epoch > 0 || f.resume != "" {
				return keepShared(err, fmt.Errorf("interrupted in epoch %d; %s holds the run up to epoch %d: continue with backprop train --resume %s", tr.Epoch+1, out, tr.Epoch, out))
			}
			return keepShared(err, fmt.Errorf("interrupted in epoch 1, before the first checkpoint"))
		}
		return err
	}
	if !root {
		return nil
	}
	last := tr.History[len(tr.History)-1]
	if checkpoint.IsStream(out) {
		// Standard error: --out /dev/stdout must get the checkpoints only.
		fmt.Fprintf(stderr, "test accuracy %.2f%% after %s; wrote the checkpoints into %s (not a regular file: no CSV or plot)\n",
			100*last.TestAcc, plural(tr.Epoch, "epoch"), out)
	} else {
		csvPath, pngPath := train.SidePaths(out)
		fmt.Fprintf(cmd.OutOrStdout(), "test accuracy %.2f%% after %s; wrote %s, %s and %s\n",
			100*last.TestAcc, plural(tr.Epoch, "epoch"), out, csvPath, pngPath)
	}
	if page != nil && !f.serveExit {
		fmt.Fprintf(stderr, "backprop: training done; %s shows the final state until Ctrl-C\n", page.url)
		<-ctx.Done()
		fmt.Fprintf(stderr, "backprop: stopped\n")
	}
	return nil
}

// plural gives "1 epoch", "2 epochs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// livePage is the training page of --serve, served while the run trains.
type livePage struct {
	training livePublisher
	url      string
	stop     func() // ends the page's streams and the server; idempotent
}

// trainServing, when set (by the tests), is called with the page's
// address once it is served, before training starts.
var trainServing func(url string)

// livePublisher is what publishes a run to the page: a *web.Training or
// a *web.TextTraining.
type livePublisher interface {
	Register(*web.Server)
	Finish(error)
	Close()
}

// startLivePage listens on addr and serves the training page of tp there,
// printing its address to w.
func startLivePage(tp livePublisher, addr string, w io.Writer) (*livePage, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tp.Close()
		return nil, fmt.Errorf("--addr: cannot listen on %s: %w", addr, err)
	}
	s := web.New(web.Options{})
	tp.Register(s)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	base, everywhere := serveURL(ln.Addr(), addr)
	p := &livePage{training: tp, url: base + "training"}
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			// The streams first: the server's shutdown waits for them.
			tp.Close()
			cancel()
			if err := <-served; err != nil {
				fmt.Fprintf(w, "backprop: serving the training page: %v\n", err)
			}
		})
	}
	fmt.Fprintf(w, "backprop: training page at %s\n", p.url)
	if everywhere {
		fmt.Fprintf(w, "backprop: listening on every interface: anyone who can reach this machine can see it\n")
	}
	if trainServing != nil {
		trainServing(p.url)
	}
	return p, nil
}

// tee reports progress to both a and b; either may be nil.
func tee(a, b train.Progress) train.Progress {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return teeProgress{a, b}
}

type teeProgress struct{ a, b train.Progress }

func (t teeProgress) StartEpoch(epoch, epochs, batches int) {
	t.a.StartEpoch(epoch, epochs, batches)
	t.b.StartEpoch(epoch, epochs, batches)
}

func (t teeProgress) Batch(s train.BatchStats) { t.a.Batch(s); t.b.Batch(s) }

func (t teeProgress) EndEpoch(m train.Metrics) { t.a.EndEpoch(m); t.b.EndEpoch(m) }

func printHeader(w io.Writer, tr *train.Trainer, f *trainFlags, out string) {
	cfg := tr.Config
	fmt.Fprintf(w, "training %s (%d parameters) on %s: %d training and %d test examples, %d threads\n",
		cfg.Model, nn.NumParams(tr.Model), cfg.Data, tr.TrainSet.Len(), tr.TestSet.Len(), bp.Threads())
	fmt.Fprintf(w, "  %s\n", cfg.Describe())
	if f.resume != "" {
		fmt.Fprintf(w, "  resuming %s after epoch %d\n", f.resume, tr.Epoch)
	}
	fmt.Fprintf(w, "  checkpoint %s after every epoch\n", out)
}

// checkOut finds an unwritable --out now rather than at the first
// checkpoint, an epoch (or many steps) in. A pipe or a device (/dev/null)
// takes the checkpoints as a stream, with no CSV or plot beside it; with
// sidecars, those files beside a regular checkpoint are checked too.
func checkOut(out string, sidecars bool) error {
	outputs := []string{out}
	if sidecars && !checkpoint.IsStream(out) {
		csvPath, pngPath := train.SidePaths(out)
		outputs = append(outputs, csvPath, pngPath)
	}
	for _, p := range outputs {
		if err := checkpoint.CheckWritable(p); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	return nil
}
