package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobackprop/backprop"
)

// faultState is the i-th state the child of TestKillDuringSaves saves:
// big enough (1 MiB of weights) that a save takes a while and a kill often
// lands inside one, and different for every i in every element.
func faultState(i int) State {
	w := make([]float32, 512*512)
	for j := range w {
		w[j] = float32(i) + float32(j)/float32(len(w))
	}
	return State{
		Epoch: i, Step: 10 * i, ModelName: "fault",
		Model: map[string]*backprop.Tensor{
			"w": backprop.FromFloat32s(w, 512, 512),
			"b": backprop.FromFloat64s([]float64{float64(i), -float64(i)}),
		},
		Optim: map[string]*backprop.Tensor{"step": backprop.FromInt64s([]int64{int64(i)})},
		RNG:   []byte(strconv.Itoa(i)),
		Meta:  map[string]string{"i": strconv.Itoa(i)},
	}
}

// TestKillDuringSaves is the crash-safety check as a test: a child process
// saves checkpoints in a loop and is killed with SIGKILL at a random
// moment, again and again. After every kill the file, if there is one yet,
// loads, passes its checksums and equals one whole state the child saved,
// never one older than the last kill's; at the end one more save leaves no
// temporary file behind.
func TestKillDuringSaves(t *testing.T) {
	if target := os.Getenv("CHECKPOINT_FAULT_TARGET"); target != "" {
		i, _ := strconv.Atoi(os.Getenv("CHECKPOINT_FAULT_START"))
		// A line before the loop and after every save, so the parent can
		// time its kill from the loop's start rather than from the
		// process's (which, on a busy machine, varies more than a save).
		fmt.Println("start")
		for ; ; i++ {
			if err := SaveState(target, faultState(i)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(5)
			}
			fmt.Println("saved", i)
		}
	}
	const kills = 24
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	path := filepath.Join(dir, "run.safetensors")
	start := time.Now()
	last, midSave := -1, 0
	for k := range kills {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("only %d kills in 60 s", k)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringSaves$")
		cmd.Env = append(os.Environ(), "CHECKPOINT_FAULT_TARGET="+path, "CHECKPOINT_FAULT_START="+strconv.Itoa(1000*(k+1)))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		// The first child runs until one save is complete, so that there
		// is a file for the others to endanger; the others are killed a
		// random time after their loop starts: during their first save,
		// between saves or in a later one.
		want := "start"
		if k == 0 {
			want = "saved"
		}
		for lines.Scan() && !strings.HasPrefix(lines.Text(), want) {
		}
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			t.Fatal(err)
		}
		go io.Copy(io.Discard, stdout)
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("kill %d: the child ended with %v, not by the signal", k, err)
		}
		temps, _ := filepath.Glob(filepath.Join(dir, tempPattern("run.safetensors")))
		if len(temps) > 0 {
			midSave++
		}
		st, err := LoadState(path)
		if err != nil {
			t.Fatalf("kill %d: the surviving file does not load: %v", k, err)
		}
		i := st.Epoch
		if i < last {
			t.Fatalf("kill %d: the file went back from state %d to %d", k, last, i)
		}
		last = i
		if !sameState(st, faultState(i)) {
			t.Fatalf("kill %d: the file holds a state %d that differs from the one saved", k, i)
		}
	}
	t.Logf("%d kills in %v; %d left a temporary file (killed mid-save); last state %d", kills, time.Since(start).Round(time.Millisecond), midSave, last)
	if err := SaveState(path, faultState(1)); err != nil {
		t.Fatal(err)
	}
	checkNoTemp(t, dir)
}

func sameState(a, b State) bool {
	same := func(x, y map[string]*backprop.Tensor) bool {
		if len(x) != len(y) {
			return false
		}
		for name, t := range x {
			u := y[name]
			if u == nil || t.DType() != u.DType() || fmt.Sprint(t.Shape()) != fmt.Sprint(u.Shape()) {
				return false
			}
			tv, uv := t.Float64s(), u.Float64s()
			for i := range tv {
				if tv[i] != uv[i] {
					return false
				}
			}
		}
		return true
	}
	return a.Epoch == b.Epoch && a.Step == b.Step && a.ModelName == b.ModelName &&
		string(a.RNG) == string(b.RNG) && a.Meta["i"] == b.Meta["i"] && len(a.Meta) == len(b.Meta) &&
		same(a.Model, b.Model) && same(a.Optim, b.Optim)
}
