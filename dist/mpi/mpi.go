// Package mpi is a dist.Comm over Open MPI, whose library (libmpi.so.40)
// it loads at run time with purego: the binary that go build makes needs
// no cgo, no MPI headers and no rebuild, and runs anywhere; started by
// mpirun, it finds the library and joins the job.
//
//	comm, err := mpi.Init() // dist.Local{} when not started by mpirun
//	if err != nil { ... }
//	defer comm.Close()
//
// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...)
// are, in its ABI, the addresses of global structures named
// ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum; the package looks
// them up by name, as it does the functions. Other MPI implementations
// (MPICH's integer handles) would need a different table; set
// BACKPROP_MPI_LIB to load Open MPI's library from another path.
//
// The library is initialized with MPI_THREAD_MULTIPLE, since goroutines
// move between threads and a watchdog (dist.WithTimeout) may abort from
// another one; errors come back as return codes (MPI_ERRORS_RETURN) and
// are reported with MPI_Error_string.
//
// Unless the environment says otherwise, Init asks Open MPI to yield the
// core while a rank waits in a collective (mpi_yield_when_idle), since it
// spins by default: on a machine with no core to spare, a rank spinning
// while its peer is descheduled only delays that peer further.
package mpi

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/gobackprop/backprop/dist"
)

// Library is the file name of Open MPI's library that Init loads unless
// $BACKPROP_MPI_LIB names another.
const Library = "libmpi.so.40"

const install = "install Open MPI (Debian, Ubuntu: apt-get install openmpi-bin libopenmpi-dev)"

// The library's functions, bound by load.
var (
	mpiInitThread  func(argc, argv unsafe.Pointer, required int32, provided *int32) int32
	mpiInitialized func(flag *int32) int32
	mpiFinalize    func() int32
	mpiCommRank    func(comm uintptr, rank *int32) int32
	mpiCommSize    func(comm uintptr, size *int32) int32
	mpiCommSetErrh func(comm, errh uintptr) int32
	// The collectives are called through purego.SyscallN, which, unlike
	// the reflective functions RegisterLibFunc makes, allocates nothing.
	fnBcast, fnAllreduce uintptr
	mpiBarrier           func(comm uintptr) int32
	mpiAbort             func(comm uintptr, code int32) int32
	mpiErrorString       func(code int32, s *byte, n *int32) int32
	mpiLibraryVersion    func(s *byte, n *int32) int32
	commWorld, errsRet   uintptr
	tFloat, tDouble      uintptr
	tByte, opSum         uintptr
)

// inPlace is MPI_IN_PLACE in Open MPI's ABI: a sentinel address, never
// dereferenced.
const inPlace uintptr = 1

const threadMultiple = 3 // MPI_THREAD_MULTIPLE in Open MPI

var (
	once    sync.Once
	world   *Comm
	initErr error
)

// Init joins the MPI job this process was started in and returns its
// world communicator. Outside mpirun (dist.Launched is false) it loads
// nothing and returns dist.Local{}, a world of one. It may be called more
// than once; the later calls return the first one's result.
func Init() (dist.Comm, error) {
	if !dist.Launched() {
		return dist.Local{}, nil
	}
	once.Do(func() { world, initErr = initWorld() })
	if initErr != nil {
		return nil, initErr
	}
	return world, nil
}

func load() (err error) {
	path := Library
	if p := os.Getenv("BACKPROP_MPI_LIB"); p != "" {
		path = p
	}
	lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fmt.Errorf("this process was started by mpirun, but Open MPI's library %s could not be loaded (%v): %s", path, err, install)
	}
	// RegisterLibFunc panics on a missing symbol; a library of another
	// MPI (or another Open MPI ABI) is reported as such.
	var sym string
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s lacks %s, so it is not Open MPI 4 or 5's libmpi (%v): %s, or point BACKPROP_MPI_LIB at its libmpi.so.40", path, sym, r, install)
		}
	}()
	fns := []struct {
		fn   any
		name string
	}{
		{&mpiInitThread, "MPI_Init_thread"}, {&mpiInitialized, "MPI_Initialized"},
		{&mpiFinalize, "MPI_Finalize"}, {&mpiCommRank, "MPI_Comm_rank"}, {&mpiCommSize, "MPI_Comm_size"},
		{&mpiCommSetErrh, "MPI_Comm_set_errhandler"}, {&mpiBarrier, "MPI_Barrier"}, {&mpiAbort, "MPI_Abort"},
		{&mpiErrorString, "MPI_Error_string"}, {&mpiLibraryVersion, "MPI_Get_library_version"},
	}
	for _, f := range fns {
		sym = f.name
		purego.RegisterLibFunc(f.fn, lib, f.name)
	}
	handles := []struct {
		h    *uintptr
		name string
	}{
		{&commWorld, "ompi_mpi_comm_world"}, {&errsRet, "ompi_mpi_errors_return"},
		{&tFloat, "ompi_mpi_float"}, {&tDouble, "ompi_mpi_double"}, {&tByte, "ompi_mpi_byte"},
		{&opSum, "ompi_mpi_op_sum"}, {&fnBcast, "MPI_Bcast"}, {&fnAllreduce, "MPI_Allreduce"},
	}
	for _, h := range handles {
		sym = h.name
		if *h.h, err = purego.Dlsym(lib, h.name); err != nil {
			panic(err)
		}
	}
	return nil
}

// YieldEnv is the environment variable through which Init asks Open MPI
// to call sched_yield while it waits for a message instead of spinning.
// Init sets it to 1 before MPI_Init unless it is already set (0 restores
// spinning).
//
// Open MPI spins unless mpirun knows the machine is oversubscribed. With
// one process per core and anything else running (another job, the
// runtime's own threads), a rank that finishes its backward pass first
// spins on a core its descheduled peer could have used, and the whole
// step waits for that peer. On 2 cores with a third busy process, the
// CNN's 2-process images/s rose with yielding (alternated runs: ahead in
// 8 of 8 pairs, medians +17% and +30%), while the MLP, whose steps are a
// few milliseconds, lost about 8% (it waits a time slice for its core
// back); on an idle machine sched_yield returns at once and the two were
// within noise. Set YieldEnv=0 to spin.
const YieldEnv = "OMPI_MCA_mpi_yield_when_idle"

// setYieldDefault sets YieldEnv to 1 unless it is set; Open MPI reads it
// in MPI_Init. os.Setenv reaches the C environment (cgo or purego's
// runtime hooks), which is where Open MPI looks.
func setYieldDefault() error {
	if _, ok := os.LookupEnv(YieldEnv); ok {
		return nil
	}
	return os.Setenv(YieldEnv, "1")
}

func initWorld() (*Comm, error) {
	if err := load(); err != nil {
		return nil, fmt.Errorf("mpi: %w", err)
	}
	if err := setYieldDefault(); err != nil {
		return nil, fmt.Errorf("mpi: setting %s: %w", YieldEnv, err)
	}
	var flag, provided int32
	if rc := mpiInitialized(&flag); rc != 0 {
		return nil, mpiError("MPI_Initialized", rc)
	}
	if flag == 0 {
		if rc := mpiInitThread(nil, nil, threadMultiple, &provided); rc != 0 {
			return nil, mpiError("MPI_Init_thread", rc)
		}
		if provided < threadMultiple {
			return nil, fmt.Errorf("mpi: %s gives thread level %d, and goroutines need MPI_THREAD_MULTIPLE (3): build Open MPI with thread support", Library, provided)
		}
	}
	if rc := mpiCommSetErrh(commWorld, errsRet); rc != 0 {
		return nil, mpiError("MPI_Comm_set_errhandler", rc)
	}
	c := &Comm{}
	var r, n int32
	if rc := mpiCommRank(commWorld, &r); rc != 0 {
		return nil, mpiError("MPI_Comm_rank", rc)
	}
	if rc := mpiCommSize(commWorld, &n); rc != 0 {
		return nil, mpiError("MPI_Comm_size", rc)
	}
	c.rank, c.size = int(r), int(n)
	c.localRank, _ = strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_LOCAL_RANK"))
	c.localSize = dist.LocalSizeFromEnv()
	buf := make([]byte, 1024)
	l := int32(len(buf))
	if mpiLibraryVersion(&buf[0], &l) == 0 && l > 0 {
		c.name = strings.TrimSpace(strings.SplitN(string(buf[:min(int(l), len(buf))]), ",", 2)[0])
	} else {
		c.name = "MPI"
	}
	return c, nil
}

// mpiError describes an MPI error code with the library's own words.
func mpiError(call string, rc int32) error {
	buf := make([]byte, 512) // MPI_MAX_ERROR_STRING is 256 in Open MPI
	n := int32(len(buf))
	msg := "error code " + strconv.Itoa(int(rc))
	if mpiErrorString != nil && mpiErrorString(rc, &buf[0], &n) == 0 && n > 0 {
		msg = strings.TrimRight(string(buf[:min(int(n), len(buf))]), "\x00") + " (code " + strconv.Itoa(int(rc)) + ")"
	}
	return fmt.Errorf("%s: %s in %s", call, msg, Library)
}

// Comm is MPI_COMM_WORLD of Open MPI.
type Comm struct {
	rank, size           int
	localRank, localSize int
	name                 string
	closed               bool
}

func (c *Comm) Rank() int      { return c.rank }
func (c *Comm) Size() int      { return c.size }
func (c *Comm) LocalRank() int { return c.localRank }
func (c *Comm) LocalSize() int { return c.localSize }
func (c *Comm) Name() string   { return c.name }

// maxCount is the most elements one call moves: MPI's counts are C ints.
const maxCount = 1 << 30

func (c *Comm) BroadcastFloat32(buf []float32, root int) error {
	return bcast(c, unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 4, tFloat, root)
}

func (c *Comm) BroadcastFloat64(buf []float64, root int) error {
	return bcast(c, unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, tDouble, root)
}

func (c *Comm) BroadcastBytes(buf []byte, root int) error {
	return bcast(c, unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 1, tByte, root)
}

func bcast(c *Comm, p unsafe.Pointer, n, elem int, dt uintptr, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("mpi: broadcast from rank %d of a world of %d", root, c.size)
	}
	for off := 0; off < n; off += maxCount {
		k := min(n-off, maxCount)
		rc, _, _ := purego.SyscallN(fnBcast, uintptr(unsafe.Add(p, off*elem)), uintptr(k), dt, uintptr(root), commWorld)
		if rc := int32(rc); rc != 0 {
			return mpiError("MPI_Bcast", rc)
		}
	}
	return nil
}

func (c *Comm) AllreduceFloat32(buf []float32) error {
	return allreduce(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 4, tFloat)
}

func (c *Comm) AllreduceFloat64(buf []float64) error {
	return allreduce(unsafe.Pointer(unsafe.SliceData(buf)), len(buf), 8, tDouble)
}

func allreduce(p unsafe.Pointer, n, elem int, dt uintptr) error {
	for off := 0; off < n; off += maxCount {
		k := min(n-off, maxCount)
		rc, _, _ := purego.SyscallN(fnAllreduce, inPlace, uintptr(unsafe.Add(p, off*elem)), uintptr(k), dt, opSum, commWorld)
		if rc := int32(rc); rc != 0 {
			return mpiError("MPI_Allreduce", rc)
		}
	}
	return nil
}

func (c *Comm) Barrier() error {
	if rc := mpiBarrier(commWorld); rc != 0 {
		return mpiError("MPI_Barrier", rc)
	}
	return nil
}

// Abort ends every process of the job (MPI_Abort) with status code.
func (c *Comm) Abort(code int) {
	mpiAbort(commWorld, int32(code))
	os.Exit(code) // MPI_Abort does not return; should it, end this process at least
}

// Close finalizes MPI. Collectives may not follow, nor a second Init.
func (c *Comm) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if rc := mpiFinalize(); rc != 0 {
		return mpiError("MPI_Finalize", rc)
	}
	return nil
}

var _ dist.Comm = (*Comm)(nil)
