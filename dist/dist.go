package dist

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// Comm is a communicator: the processes (ranks) of one job and the
// collective operations among them. Buffers are updated in place; every
// rank passes a buffer of the same length.
type Comm interface {
	Rank() int // this process's number, 0..Size()-1
	Size() int // the number of processes
	// LocalRank and LocalSize are the rank among the processes on this
	// machine and their number, for sharing out its cores.
	LocalRank() int
	LocalSize() int
	// Name says what carries the messages, for logs: "local", "goroutines",
	// "Open MPI v4.1.4 ...".
	Name() string

	// BroadcastFloat32 copies root's buf into every rank's buf.
	BroadcastFloat32(buf []float32, root int) error
	BroadcastFloat64(buf []float64, root int) error
	BroadcastBytes(buf []byte, root int) error
	// AllreduceFloat32 replaces buf on every rank with the elementwise sum
	// of all ranks' bufs; every rank gets the same bits.
	AllreduceFloat32(buf []float32) error
	AllreduceFloat64(buf []float64) error
	// Barrier returns once every rank has called it.
	Barrier() error
	// Abort ends every process of the job with the exit status code. It
	// does not return (except for a group of goroutines, whose pending
	// and later collectives then fail).
	Abort(code int)
	// Close ends this process's part in the job (MPI_Finalize); collectives
	// may not follow.
	Close() error
}

// Local is the world of one process: collectives are no-ops.
type Local struct{}

func (Local) Rank() int                                      { return 0 }
func (Local) Size() int                                      { return 1 }
func (Local) LocalRank() int                                 { return 0 }
func (Local) LocalSize() int                                 { return 1 }
func (Local) Name() string                                   { return "local" }
func (Local) BroadcastFloat32(buf []float32, root int) error { return checkRoot(root, 1) }
func (Local) BroadcastFloat64(buf []float64, root int) error { return checkRoot(root, 1) }
func (Local) BroadcastBytes(buf []byte, root int) error      { return checkRoot(root, 1) }
func (Local) AllreduceFloat32(buf []float32) error           { return nil }
func (Local) AllreduceFloat64(buf []float64) error           { return nil }
func (Local) Barrier() error                                 { return nil }
func (Local) Abort(code int)                                 { os.Exit(code) }
func (Local) Close() error                                   { return nil }

func checkRoot(root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("dist: broadcast from rank %d of a world of %d", root, size)
	}
	return nil
}

// Launched reports whether this process was started by Open MPI's mpirun
// (or another PMIx launcher): its environment then names the process's
// rank.
func Launched() bool {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"} {
		if os.Getenv(k) != "" {
			return true
		}
	}
	return false
}

// LocalSizeFromEnv is the number of processes mpirun started on this
// machine (OMPI_COMM_WORLD_LOCAL_SIZE), 1 outside mpirun or when it does
// not say.
func LocalSizeFromEnv() int {
	n, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// DefaultThreads is this process's share of the machine's cores: the
// cores divided by the processes on this machine, at least 1.
func DefaultThreads(localSize int) int {
	return max(1, runtime.NumCPU()/max(1, localSize))
}

// ErrAborted is returned by the collectives of a group of goroutines after
// one of its ranks called Abort.
var ErrAborted = errors.New("dist: the job was aborted")
