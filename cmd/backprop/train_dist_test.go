package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobackprop/backprop/checkpoint"
	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/train"
)

// The test binary doubles as the backprop command under mpirun, so that
// the tests need no separate build.
func init() {
	if os.Getenv("BACKPROP_TEST_AS_CLI") == "1" {
		args := []string{}
		for i, a := range os.Args {
			if a == "--" {
				args = os.Args[i+1:]
			}
		}
		os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
	}
}

// mpiJob starts backprop args under mpirun on np processes.
func mpiJob(t *testing.T, np int, args ...string) *exec.Cmd {
	t.Helper()
	if dist.Launched() {
		t.Skip("already under mpirun")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mpirun not found; CI installs it (apt-get install openmpi-bin libopenmpi-dev)")
		}
		t.Skip("NOTICE: mpirun not found, so backprop train was not tested on several processes; apt-get install openmpi-bin libopenmpi-dev")
	}
	cmd := exec.Command(mpirun, append([]string{"--oversubscribe", "-np", strconv.Itoa(np), os.Args[0], "--"}, args...)...)
	cmd.Env = append(os.Environ(), "BACKPROP_TEST_AS_CLI=1", "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	if os.Geteuid() == 0 {
		cmd.Env = append(cmd.Env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	}
	return cmd
}

func TestTrainUnderMpirunRefusesAnUnevenBatch(t *testing.T) {
	out, err := mpiJob(t, 2, "train", "--model", "softmax", "--batch", "127", "--epochs", "1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "backprop: --batch 127 does not divide between 2 processes") {
		t.Fatalf("got %v:\n%s", err, out)
	}
}

// rankPID finds the process of a rank among mpirun's children.
func rankPID(mpirun, rank int) int {
	kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", mpirun, mpirun))
	for _, f := range strings.Fields(string(kids)) {
		pid, _ := strconv.Atoi(f)
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == "OMPI_COMM_WORLD_RANK="+strconv.Itoa(rank) {
				return pid
			}
		}
	}
	return 0
}

// TestTrainUnderMpirunSurvivesAKilledRank kills rank 1 of a 2-process
// run with SIGKILL after its first checkpoint: the job must end within
// 30 s with a non-zero status naming rank 1, the checkpoint must be
// whole, and --resume must continue from it, on 2 processes and on 1.
func TestTrainUnderMpirunSurvivesAKilledRank(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST under mpirun")
	}
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.safetensors")
	cmd := mpiJob(t, 2, "train", "--model", "softmax", "--epochs", "200", "--train-size", "4096", "--test-size", "200", "--out", ckpt)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(ckpt); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before its first checkpoint:\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint after 2 minutes:\n%s", out.String())
		}
	}
	pid := rankPID(cmd.Process.Pid, 1)
	if pid == 0 {
		cmd.Process.Kill()
		t.Skip("cannot find rank 1's process under /proc")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	killed := time.Now()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the job succeeded after rank 1 was killed:\n%s", out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the job still ran 30 s after rank 1 was killed:\n%s", out.String())
	}
	t.Logf("the job ended %v after the kill", time.Since(killed).Round(time.Millisecond))
	if !strings.Contains(out.String(), "rank 1") {
		t.Errorf("the output does not name rank 1:\n%s", out.String())
	}
	st, err := checkpoint.LoadState(ckpt)
	if err != nil {
		t.Fatalf("the checkpoint is damaged: %v", err)
	}
	for _, np := range []int{2, 1} {
		next := strconv.Itoa(st.Epoch + 1)
		res := mpiJob(t, np, "train", "--resume", ckpt, "--epochs", next, "--out", filepath.Join(dir, fmt.Sprintf("r%d.safetensors", np)))
		got, err := res.CombinedOutput()
		if err != nil || !strings.Contains(string(got), "after "+next+" epochs") {
			t.Errorf("resuming on %d processes: %v\n%s", np, err, got)
		}
	}
}

// TestTrainUnderMpirunReportsADivergenceOnce: every rank sees the loss
// diverge at the same step; rank 0 alone says so, and the job fails.
func TestTrainUnderMpirunReportsADivergenceOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST under mpirun")
	}
	out, err := mpiJob(t, 2, "train", "--model", "mlp", "--lr", "1000", "--train-size", "2048", "--test-size", "100",
		"--progress=false", "--out", filepath.Join(t.TempDir(), "m.safetensors")).CombinedOutput()
	if err == nil || strings.Count(string(out), "backprop: the loss became") != 1 {
		t.Fatalf("got %v, want one report of the divergence:\n%s", err, out)
	}
}

// Under mpirun with several processes, the commands that are not
// data-parallel refuse to start, rather than each process doing the same
// work and writing the same output. (Only the environment that mpirun
// sets is needed: they refuse before loading MPI.)
func TestOneProcessCommandsRefuseMpirun(t *testing.T) {
	if dist.Launched() {
		t.Skip("already under mpirun")
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	for _, args := range [][]string{
		{"sample", "--model", "x.safetensors"},
		{"eval", "--model", "x.safetensors"},
		{"grad", "x*y", "x=1", "y=2"},
		{"serve"},
		{"bench", "gemm"},
	} {
		code, _, stderr := cli(t, "", args...)
		if code != 1 || !strings.Contains(stderr, "runs in one process, not data-parallel: start it without mpirun (its 2 processes") {
			t.Errorf("%v under mpirun: exit %d, %q", args, code, stderr)
		}
	}
	// One process under mpirun is one process.
	t.Setenv("OMPI_COMM_WORLD_SIZE", "1")
	if code, _, stderr := cli(t, "", "grad", "x*y", "x=1", "y=2"); code != 0 {
		t.Errorf("grad under mpirun -np 1: exit %d, %q", code, stderr)
	}
}

// A language model trains data-parallel too: under mpirun -np 2 rank 0
// alone prints and saves, and the checkpoint holds the validation loss of
// the same run on one process, within float order.
func TestTrainTextUnderMpirun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains under mpirun")
	}
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 80)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--data", "text", "--text", corpus, "--steps", "8", "--layers", "1", "--embd", "16",
		"--heads", "2", "--context", "8", "--batch", "8", "--progress=false"}
	two := filepath.Join(dir, "two.safetensors")
	out, err := mpiJob(t, 2, append(args, "--out", two)...).CombinedOutput()
	if err != nil || strings.Count(string(out), "validation loss") != 1 {
		t.Fatalf("mpirun -np 2: %v, want one line from rank 0:\n%s", err, out)
	}
	one := filepath.Join(dir, "one.safetensors")
	if code, _, stderr := cli(t, "", append(args, "--out", one)...); code != 0 {
		t.Fatalf("one process: %s", stderr)
	}
	val := func(path string) float64 {
		st, err := checkpoint.LoadState(path)
		if err != nil {
			t.Fatal(err)
		}
		var h []train.TextMetrics
		if err := json.Unmarshal([]byte(st.Meta[train.MetaTextHistory]), &h); err != nil {
			t.Fatal(err)
		}
		return h[len(h)-1].ValLoss
	}
	if a, b := val(two), val(one); math.Abs(a-b) > 1e-5*b {
		t.Errorf("validation loss %v on 2 processes, %v on one", a, b)
	}
}
