package backprop

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
)

// Checks of what constructors and ops are given: sizes that are negative,
// whose product overflows, or that no machine could allocate, and nil
// tensors. Each panics (the tensor API's rule for programmer errors) with
// a message that names the op, where Go would otherwise fail later with a
// bare index out of range, a makeslice error or a nil dereference.

// checkedNumel returns the number of elements of shape, and false when a
// size is negative or the product of the non-zero sizes overflows an int
// (such a shape is refused even with a zero size in it: its strides would
// overflow all the same).
func checkedNumel(shape []int) (int, bool) {
	n, zero := uint64(1), false
	for _, s := range shape {
		if s < 0 {
			return 0, false
		}
		if s == 0 {
			zero = true
			continue
		}
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = lo
	}
	if zero {
		return 0, true
	}
	return int(n), true
}

// checkShape panics, naming op, when shape has a negative size or more
// elements than an int counts, and returns the number of elements.
func checkShape(op string, shape []int) int {
	n, ok := checkedNumel(shape)
	if ok {
		return n
	}
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("backprop: %s: negative size %d in shape %v", op, s, shape))
		}
	}
	panic(fmt.Sprintf("backprop: %s: shape %v has more elements than an int can count (the product of its sizes overflows)", op, shape))
}

// checkAlloc is checkShape for a tensor of dtype dt that is to be
// allocated: it also refuses one whose bytes exceed what this machine could
// ever give (its memory and swap, and the Go runtime's limit), which would
// otherwise end in a runtime error or a fatal out-of-memory crash.
func checkAlloc(op string, dt DType, shape []int) {
	n := checkShape(op, shape)
	if n == 0 {
		return
	}
	limit := allocLimit()
	if uint64(n) > limit/uint64(dt.Size()) {
		panic(&AllocError{Op: op, DType: dt, Shape: slices.Clone(shape), Bytes: float64(n) * float64(dt.Size()), Limit: limit})
	}
}

// AllocError is the panic value of an op asked for a tensor larger than
// this machine could ever hold (see AllocLimit). It is the caller's sizes
// that are wrong, not the library, so a program that takes sizes from its
// users (a command line, a config file) can recover it and report it as
// their mistake.
type AllocError struct {
	Op    string
	DType DType
	Shape []int
	Bytes float64 // what the tensor needs
	Limit uint64  // AllocLimit
}

func (e *AllocError) Error() string {
	return fmt.Sprintf("backprop: %s: a %v tensor of shape %v needs %s, more than this machine can allocate (%s)",
		e.Op, e.DType, e.Shape, byteSize(e.Bytes), byteSize(float64(e.Limit)))
}

// AllocLimit is the most bytes one tensor may take here: the memory and
// swap of the machine, or of the cgroup (a container's limit) where that
// is smaller, and the Go runtime's own limit. An op asked for more panics
// with an *AllocError instead of ending in a fatal out-of-memory crash.
func AllocLimit() uint64 { return allocLimit() }

// goMaxAlloc is the largest allocation the Go runtime makes on 64-bit
// platforms (its heap address space, 2^48 bytes).
const goMaxAlloc = 1 << 48

// allocLimit is the most bytes one tensor may take: the machine's memory
// and swap where that is known (see systemMemory), bounded by goMaxAlloc.
var allocLimit = sync.OnceValue(func() uint64 {
	limit := uint64(goMaxAlloc)
	if math.MaxInt < goMaxAlloc {
		limit = math.MaxInt
	}
	if m := systemMemory(); m > 0 && m < limit {
		limit = m
	}
	return limit
})

// ByteSize writes a number of bytes for people: "3.47 EiB", "512 KiB".
func byteSize(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmt.Sprintf("%.3g %s", b, units[i])
}

// mustTensor panics, naming op, when t is nil.
func (t *Tensor) mustTensor(op string) {
	if t == nil {
		panic(nilTensor(op, "the tensor"))
	}
}

// mustTensors panics, naming op and the argument, when one of a, b is nil:
// a is the receiver (or first operand), b the second.
func mustTensors(op string, a, b *Tensor) {
	if a == nil {
		panic(nilTensor(op, "the receiver"))
	}
	if b == nil {
		panic(nilTensor(op, "the argument"))
	}
}

func nilTensor(op, which string) string {
	return fmt.Sprintf("backprop: %s: %s is a nil *Tensor", op, which)
}
