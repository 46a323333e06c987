package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/dist/mpi"
	"github.com/gobackprop/backprop/train"
)

const trainDistLong = `

Data parallel: started by mpirun, every process trains the same model on
its share of each batch and the gradients are averaged before every step,
so "mpirun -np 2 backprop train --batch 128" computes what one process
with --batch 128 would: --batch is the global batch and must divide by
the number of processes. It pays where a step has much compute per byte
of gradients (the cnn and the gpt: about 1.7x on 2 cores), less or not at
all for a small, fast model (the mlp). The language models (--data text)
train the same way. Open MPI's
library (libmpi.so.40) is loaded at run time; the binary needs no rebuild.
Only rank 0 prints, writes the checkpoint, CSV and plot, and serves
--serve; a checkpoint resumes with any number of processes. --threads
defaults to this machine's cores divided by the processes on it. A rank
that waits longer than --collective-timeout for the others (a lost or
stuck process) aborts the whole job, naming itself and what it waited in.
  mpirun -np 2 backprop train --model cnn
  mpirun -np 2 backprop train --data text --model gpt
  mpirun -np 8 --hostfile hosts backprop train --model mlp --batch 256`

// worldSizeFromEnv is the number of processes mpirun started, 1 outside
// mpirun: known before MPI is loaded, so that a batch that does not
// divide between them is refused like any other bad flag.
func worldSizeFromEnv() int {
	n, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_SIZE"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// dataParallel are the commands that run as one job under mpirun; the
// others refuse to start there (refuseUnderMpirun).
var dataParallel = map[string]bool{"backprop train": true, "backprop bench train": true, "backprop bench allreduce": true}

// refuseUnderMpirun refuses what is not data-parallel when mpirun started
// several processes: each would do the same work and print or write the
// same output (to the same files), which is never what was meant.
func refuseUnderMpirun(what string) error {
	if n := worldSizeFromEnv(); n > 1 {
		return fmt.Errorf("%s runs in one process, not data-parallel: start it without mpirun (its %d processes would each do the same work and write the same output)", what, n)
	}
	return nil
}

// rankZeroFromEnv reports whether this process runs alone or is rank 0 of
// mpirun's job, before MPI is loaded: the one to print a message every
// rank would otherwise repeat.
func rankZeroFromEnv() bool {
	r := os.Getenv("OMPI_COMM_WORLD_RANK")
	return r == "" || r == "0"
}

// rankTrainer is what both kinds of training (train.Trainer,
// train.TextTrainer) offer startRank.
type rankTrainer interface {
	Restore(checkpoint.State) error
	Distribute(dist.Comm) error
}

// startRank does what every training run does between building its
// trainer and its first step: restore the run from st when resuming, make
// out's folder, and join the MPI job when mpirun started this process.
func startRank(tr rankTrainer, f *trainFlags, st checkpoint.State, out string, stderr io.Writer) (*distRun, error) {
	if f.resume != "" {
		if err := tr.Restore(st); err != nil {
			return nil, fmt.Errorf("--resume %s: %s", f.resume, firstErrors(err, 3))
		}
	}
	if dir := filepath.Dir(out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	return joinWorld(tr, f.collectiveTimeout, stderr)
}

// distRun is the part a process takes in a data-parallel run; nil for a
// process of its own.
type distRun struct {
	comm dist.Comm
}

// joinWorld joins the MPI job when mpirun started this process (loading
// Open MPI), makes tr one of its ranks and watches its collectives. It
// returns nil when the process runs alone.
func joinWorld(tr interface{ Distribute(dist.Comm) error }, timeout time.Duration, stderr io.Writer) (*distRun, error) {
	if !dist.Launched() {
		return nil, nil
	}
	c, err := mpi.Init()
	if err != nil {
		return nil, err
	}
	if c.Size() == 1 {
		return &distRun{comm: c}, nil
	}
	c = dist.WithTimeout(c, timeout, stderr)
	if err := tr.Distribute(c); err != nil {
		c.Close() // every rank fails here together: the check is collective
		return nil, err
	}
	return &distRun{comm: c}, nil
}

func (d *distRun) rank() int {
	if d == nil {
		return 0
	}
	return d.comm.Rank()
}

// describe is the header's line about the processes.
func (d *distRun) describe(batch int) string {
	n := d.comm.Size()
	return fmt.Sprintf("data parallel over %d processes (%s): global batch %d, %d per process",
		n, d.comm.Name(), batch, batch/n)
}

// finish ends this process's part in the job. An error that every rank
// meets alike at the same step (train.SharedError: a diverged loss, an
// interruption) is printed by rank 0 alone, the other ranks exiting with
// status 1 without repeating it. Any other error is this rank's own, and
// the others may be waiting for it in a collective: it is printed with the
// rank's number and the whole job aborted.
func (d *distRun) finish(err error) error {
	if d == nil {
		return err
	}
	if err != nil && d.comm.Size() > 1 {
		var shared train.SharedError
		if !errors.As(err, &shared) {
			fmt.Fprintf(os.Stderr, "backprop: rank %d of %d: %s\n", d.comm.Rank(), d.comm.Size(), oneLine(err.Error()))
			d.comm.Abort(1)
		}
		if d.comm.Rank() != 0 {
			d.comm.Close()
			os.Exit(1)
		}
	}
	if cerr := d.comm.Close(); err == nil && cerr != nil {
		return cerr
	}
	return err
}

// defaultThreads is --threads when not given under mpirun: this process's
// share of the machine's cores; 0 (all of them) otherwise.
func defaultThreads() int {
	if !dist.Launched() {
		return 0
	}
	return dist.DefaultThreads(dist.LocalSizeFromEnv())
}

func (d *distRun) size() int {
	if d == nil {
		return 1
	}
	return d.comm.Size()
}

// keepShared returns msg, marked as shared by every rank when err was.
func keepShared(err, msg error) error {
	var shared train.SharedError
	if errors.As(err, &shared) {
		return train.SharedError{Err: msg}
	}
	return msg
}
