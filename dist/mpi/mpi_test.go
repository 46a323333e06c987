package mpi

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gobackprop/backprop/dist"
)

func TestInitOutsideMpirunIsAWorldOfOne(t *testing.T) {
	if dist.Launched() {
		t.Skip("started by mpirun")
	}
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(dist.Local); !ok || c.Size() != 1 || c.Rank() != 0 {
		t.Fatalf("Init outside mpirun gave %T of size %d, want dist.Local", c, c.Size())
	}
}

// TestMissingLibrary runs this test binary again as if under mpirun, with
// a library path that does not exist.
func TestMissingLibrary(t *testing.T) {
	if os.Getenv("MPI_TEST_CHILD") == "1" {
		_, err := Init()
		if err == nil {
			os.Exit(3)
		}
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(0)
	}
	if dist.Launched() {
		t.Skip("started by mpirun")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibrary$")
	cmd.Env = append(os.Environ(), "MPI_TEST_CHILD=1", "OMPI_COMM_WORLD_SIZE=2", "OMPI_COMM_WORLD_RANK=0",
		"BACKPROP_MPI_LIB=/nonexistent/libmpi.so.40")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child failed: %v\n%s", err, out)
	}
	msg := string(out)
	for _, want := range []string{"/nonexistent/libmpi.so.40", "apt-get install openmpi-bin libopenmpi-dev", "mpirun"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error %q does not mention %q", msg, want)
		}
	}
	if strings.Count(strings.TrimSpace(strings.SplitN(msg, "\nPASS", 2)[0]), "\n") != 0 {
		t.Errorf("the error is not one line: %q", msg)
	}
}
