package mpi

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// YieldWhenIdle reads Open MPI's own mpi_yield_when_idle setting (the C
// bool ompi_mpi_yield_when_idle), to check that YieldEnv reached MPI_Init.
func YieldWhenIdle() (bool, error) {
	if world == nil {
		return false, fmt.Errorf("Init has not joined an MPI job")
	}
	lib, err := purego.Dlopen(Library, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return false, err
	}
	p, err := purego.Dlsym(lib, "ompi_mpi_yield_when_idle")
	if err != nil {
		return false, err
	}
	// p is the address of C data, outside the Go heap.
	return *(*byte)(unsafe.Add(nil, p)) != 0, nil
}
