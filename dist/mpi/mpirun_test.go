package mpi_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobackprop/backprop/dist"
	"github.com/gobackprop/backprop/dist/mpi"
	"github.com/gobackprop/backprop/internal/ddptest"

	bp "github.com/gobackprop/backprop"
)

// The tests named TestRanks* run inside processes started by mpirun, and
// skip otherwise; TestUnderMpirun starts this test binary with mpirun.
// .ci/run also starts it directly (scripts/mpi_test.sh): with 1, 2 and 4
// processes, and over TCP on the loopback interface.

var world dist.Comm

func TestMain(m *testing.M) {
	code := 0
	if dist.Launched() && os.Getenv("MPI_TEST_CHILD") == "" { // TestMissingLibrary's child calls Init itself
		c, err := mpi.Init()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		world = c
		code = m.Run()
		if code != 0 {
			c.Abort(code) // another rank may wait in a collective
		}
		c.Close()
	} else {
		code = m.Run()
	}
	os.Exit(code)
}

func ranks(t *testing.T) dist.Comm {
	t.Helper()
	if world == nil {
		t.Skip("runs under mpirun (TestUnderMpirun starts it)")
	}
	return world
}

func TestRanksCollectives(t *testing.T) {
	c := ranks(t)
	n, r := c.Size(), c.Rank()
	if _, ok := c.(*mpi.Comm); !ok {
		t.Fatalf("Init under mpirun gave %T", c)
	}
	if r < 0 || r >= n || c.LocalRank() < 0 || c.LocalSize() < 1 {
		t.Fatalf("rank %d of %d, local %d of %d", r, n, c.LocalRank(), c.LocalSize())
	}
	a := []float32{float32(r), 1, 0.5}
	if err := c.AllreduceFloat32(a); err != nil {
		t.Fatal(err)
	}
	if want := float32(n * (n - 1) / 2); a[0] != want || a[1] != float32(n) || a[2] != float32(n)/2 {
		t.Errorf("rank %d: allreduce float32 gave %v", r, a)
	}
	b := make([]float64, 3000) // more than one small message
	for i := range b {
		b[i] = float64(r*i) + 0.25
	}
	if err := c.AllreduceFloat64(b); err != nil {
		t.Fatal(err)
	}
	for i, v := range b {
		if want := float64(i*n*(n-1)/2) + 0.25*float64(n); v != want {
			t.Fatalf("rank %d: allreduce float64 [%d] = %v, want %v", r, i, v, want)
		}
	}
	root := n - 1
	x := []float32{float32(r), float32(r)}
	if err := c.BroadcastFloat32(x, root); err != nil {
		t.Fatal(err)
	}
	y := []float64{float64(r)}
	if err := c.BroadcastFloat64(y, root); err != nil {
		t.Fatal(err)
	}
	s := []byte{byte(r)}
	if err := c.BroadcastBytes(s, root); err != nil {
		t.Fatal(err)
	}
	if x[0] != float32(root) || x[1] != float32(root) || y[0] != float64(root) || s[0] != byte(root) {
		t.Errorf("rank %d: broadcast from %d gave %v %v %v", r, root, x, y, s)
	}
	if err := c.BroadcastFloat32(x, n); err == nil {
		t.Errorf("a broadcast from rank %d of %d succeeded", n, n)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}

// TestRanksYieldWhenIdle checks that Open MPI yields while it waits
// unless the environment asked it to spin (YieldEnv=0).
func TestRanksYieldWhenIdle(t *testing.T) {
	ranks(t)
	if os.Getenv("BACKPROP_MPI_LIB") != "" {
		t.Skip("the check reads the symbol from the default library")
	}
	got, err := mpi.YieldWhenIdle()
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv(mpi.YieldEnv) != "0"; got != want {
		t.Errorf("Open MPI's mpi_yield_when_idle is %v with %s=%q, want %v", got, mpi.YieldEnv, os.Getenv(mpi.YieldEnv), want)
	}
}

func TestRanksDataParallelMLP(t *testing.T) {
	if err := ddptest.Check(ranks(t), "mlp", 16, 3); err != nil {
		t.Fatal(err)
	}
}

func TestRanksDataParallelCNN(t *testing.T) {
	if err := ddptest.Check(ranks(t), "cnn", 16, 3); err != nil {
		t.Fatal(err)
	}
}

func TestRanksRefuseDifferentModels(t *testing.T) {
	c := ranks(t)
	if c.Size() == 1 {
		t.Skip("one rank agrees with itself")
	}
	rows := 4
	if c.Rank() == c.Size()-1 {
		rows = 5
	}
	w := bp.Zeros(rows, 3).SetRequiresGrad(true)
	_, err := dist.NewDataParallel(c, []bp.Param{{Name: "w", T: w}}, dist.Options{})
	if err == nil {
		t.Fatal("ranks with different models agreed")
	}
	want := fmt.Sprintf("ranks %d disagree", c.Size()-1)
	if c.Rank() == c.Size()-1 {
		want = "[5 3]"
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("rank %d: %v; want it to mention %q", c.Rank(), err, want)
	}
}

// TestRanksFault makes one rank fail as $DIST_TEST_FAULT says, for
// TestUnderMpirun: "kill" (rank 1 dies by SIGKILL while the others wait in
// an allreduce) or "stuck" (rank 1 never joins an allreduce the others
// wait in, under a watchdog of 2 s).
func TestRanksFault(t *testing.T) {
	c := ranks(t)
	fault := os.Getenv("DIST_TEST_FAULT")
	if fault == "" || c.Size() < 2 {
		t.Skip("DIST_TEST_FAULT not set")
	}
	c = dist.WithTimeout(c, map[string]time.Duration{"kill": time.Minute, "stuck": 2 * time.Second}[fault], os.Stderr)
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
	if c.Rank() == 1 {
		switch fault {
		case "kill":
			time.Sleep(200 * time.Millisecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		case "stuck":
			time.Sleep(time.Hour)
		}
	}
	c.(*dist.Watchdog).SetPhase("the fault test")
	err := c.AllreduceFloat32(make([]float32, 8))
	t.Fatalf("rank %d: the allreduce returned (%v) though rank 1 is gone", c.Rank(), err)
}

// mpirun finds mpirun, or skips (fails under CI, which installs it).
func mpirun(t *testing.T) string {
	t.Helper()
	if dist.Launched() {
		t.Skip("already under mpirun")
	}
	p, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mpirun not found; CI installs it (apt-get install openmpi-bin libopenmpi-dev)")
		}
		t.Skip("NOTICE: mpirun not found, so the tests on several processes did not run; apt-get install openmpi-bin libopenmpi-dev")
	}
	return p
}

func launch(t *testing.T, timeout time.Duration, np int, env []string, extra ...string) (string, error, time.Duration) {
	args := append([]string{"--oversubscribe", "-np", fmt.Sprint(np)}, extra...)
	args = append(args, os.Args[0], "-test.run=^TestRanks", "-test.v")
	cmd := exec.Command(mpirun(t), args...)
	// Containers often forbid the cross-process memory copies of Open
	// MPI's shared-memory transport; plain copies work everywhere.
	cmd.Env = append(os.Environ(), "OMPI_MCA_btl_vader_single_copy_mechanism=none")
	cmd.Env = append(cmd.Env, env...)
	if os.Geteuid() == 0 {
		cmd.Env = append(cmd.Env, "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	}
	start := time.Now()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("mpirun -np %d ran past %v:\n%s", np, timeout, out)
	}
	return string(out), err, time.Since(start)
}

// TestUnderMpirun runs the TestRanks tests on 2 processes (and, without
// -short, on 4 and over TCP); scripts/mpi_test.sh does the same from a
// shell.
func TestUnderMpirun(t *testing.T) {
	mpirun(t)
	type run struct {
		np    int
		extra []string
	}
	runs := []run{{2, nil}}
	if !testing.Short() {
		runs = append(runs, run{4, nil}, run{2, []string{"--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"}})
	}
	for _, r := range runs {
		out, err, _ := launch(t, 5*time.Minute, r.np, nil, r.extra...)
		if err != nil {
			t.Errorf("mpirun -np %d %v: %v\n%s", r.np, r.extra, err, out)
		} else if strings.Count(out, "--- PASS: TestRanksDataParallelCNN") != r.np {
			t.Errorf("mpirun -np %d %v: not every rank passed:\n%s", r.np, r.extra, out)
		}
	}
}

// TestFaultsUnderMpirun: a rank killed by SIGKILL, or one that never joins
// a collective, ends every process of the job within 30 s, with a
// non-zero status and a message naming the rank.
func TestFaultsUnderMpirun(t *testing.T) {
	mpirun(t)
	for _, c := range []struct{ fault, want string }{
		{"kill", "rank 1"},
		{"stuck", "rank 0 of 2: allreduce of 8 float32 (the fault test) has waited"},
	} {
		out, err, took := launch(t, time.Minute, 2, []string{"DIST_TEST_FAULT=" + c.fault})
		if err == nil {
			t.Errorf("%s: the job succeeded:\n%s", c.fault, out)
		}
		if took > 30*time.Second {
			t.Errorf("%s: the job took %v to end", c.fault, took)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: the output does not name %q:\n%s", c.fault, c.want, out)
		}
		t.Logf("%s: ended in %v", c.fault, took.Round(time.Millisecond))
	}
}
