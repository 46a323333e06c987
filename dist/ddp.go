package dist

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/internal/kernels"
)

// DefaultBucketBytes is the size of a gradient bucket unless Options say
// otherwise. Buckets bound the scratch memory of the reduction; since the
// reduction follows Backward rather than overlapping it, fewer calls are
// cheaper, and the models here fit in one or two.
const DefaultBucketBytes = 4 << 20

// Options tune NewDataParallel.
type Options struct {
	// BucketBytes caps a bucket's size; a parameter larger than it gets a
	// bucket of its own. 0 means DefaultBucketBytes.
	BucketBytes int
	// Tag is anything else the ranks must agree on, such as the training
	// settings; it takes part in the start-up check.
	Tag string
}

// DataParallel keeps the parameters of a model the same on every rank of
// a Comm by reducing their gradients after each backward pass. Build it
// once, after the model and before the first step, on every rank.
//
// The gradients live in the buckets: NewDataParallel gives every parameter
// a gradient tensor that is a view of its bucket's flat buffer, and
// Backward, which writes into an existing gradient buffer after ZeroGrad,
// fills the buckets in place, so that the reduction copies nothing (as
// DDP's gradient_as_bucket_view). A gradient replaced by other code
// (ClearGrad, SetGrad) is copied back into its bucket at the next
// reduction.
type DataParallel struct {
	comm    Comm
	params  []bp.Param
	views   []*bp.Tensor // the gradient view of each parameter
	buckets []bucket
	phase   func(string)
	phases  []string // what SetPhase says during each bucket's reduction
}

// bucket is a run of parameters of one dtype whose gradients are reduced
// by one collective.
type bucket struct {
	params []int // indices into DataParallel.params, in reduction order
	dtype  bp.DType
	size   int // elements
	flat32 []float32
	flat64 []float64
}

// NewDataParallel checks that every rank of c has the same parameters
// (names, dtypes, shapes, in order), bucket plan and opts.Tag, then copies
// rank 0's parameter values to every rank. A disagreement fails on every
// rank, with a message naming the first difference, rather than hanging or
// training different models.
func NewDataParallel(c Comm, params []bp.Param, opts Options) (*DataParallel, error) {
	if c == nil {
		c = Local{}
	}
	bucketBytes := opts.BucketBytes
	if bucketBytes <= 0 {
		bucketBytes = DefaultBucketBytes
	}
	d := &DataParallel{comm: c, params: params, views: make([]*bp.Tensor, len(params))}
	if p, ok := c.(interface{ SetPhase(string) }); ok {
		d.phase = p.SetPhase
	}
	var desc strings.Builder
	fmt.Fprintf(&desc, "settings %s\n", opts.Tag)
	fmt.Fprintf(&desc, "%d parameters\n", len(params))
	for i, p := range params {
		t := p.T
		if t == nil {
			return nil, fmt.Errorf("dist: parameter %q is nil", p.Name)
		}
		if dt := t.DType(); dt != bp.Float32 && dt != bp.Float64 {
			return nil, fmt.Errorf("dist: parameter %q is %v; data parallel needs float32 or float64", p.Name, dt)
		}
		if !t.IsContiguous() {
			return nil, fmt.Errorf("dist: parameter %q is not contiguous", p.Name)
		}
		fmt.Fprintf(&desc, "parameter %d %q %v %v\n", i, p.Name, t.DType(), t.Shape())
	}
	// Buckets take the parameters last to first, the order in which
	// Backward finishes their gradients (as DDP does, should the reduction
	// ever overlap the backward pass).
	for i := len(params) - 1; i >= 0; i-- {
		t := params[i].T
		n, dt := t.Numel(), t.DType()
		elem := 4
		if dt == bp.Float64 {
			elem = 8
		}
		last := len(d.buckets) - 1
		if last < 0 || d.buckets[last].dtype != dt || (d.buckets[last].size+n)*elem > bucketBytes {
			d.buckets = append(d.buckets, bucket{dtype: dt})
			last++
		}
		b := &d.buckets[last]
		b.params = append(b.params, i)
		b.size += n
	}
	for i := range d.buckets {
		b := &d.buckets[i]
		fmt.Fprintf(&desc, "bucket %d %v %d elements, parameters %v\n", i, b.dtype, b.size, b.params)
		d.phases = append(d.phases, fmt.Sprintf("gradient bucket %d of %d", i+1, len(d.buckets)))
		off := 0
		if b.dtype == bp.Float32 {
			b.flat32 = make([]float32, b.size)
		} else {
			b.flat64 = make([]float64, b.size)
		}
		for _, pi := range b.params {
			t := params[pi].T
			n := t.Numel()
			var v *bp.Tensor
			if b.dtype == bp.Float32 {
				v = bp.FromFloat32s(b.flat32[off:off+n:off+n], t.Shape()...)
			} else {
				v = bp.FromFloat64s(b.flat64[off:off+n:off+n], t.Shape()...)
			}
			d.views[pi] = v
			d.adopt(pi)
			off += n
		}
	}
	if err := Agree(c, "the model and its bucket plan", desc.String()); err != nil {
		return nil, err
	}
	if err := d.SyncParams(); err != nil {
		return nil, err
	}
	return d, nil
}

// Comm is the communicator the parameters are kept in sync over.
func (d *DataParallel) Comm() Comm { return d.comm }

// Buckets is the number of gradient buckets, each one collective per step.
func (d *DataParallel) Buckets() int { return len(d.buckets) }

// SyncParams copies rank 0's parameter values to every rank.
func (d *DataParallel) SyncParams() error {
	d.setPhase("broadcasting the parameters from rank 0")
	for _, p := range d.params {
		var err error
		if p.T.DType() == bp.Float32 {
			err = d.comm.BroadcastFloat32(p.T.F32(), 0)
		} else {
			err = d.comm.BroadcastFloat64(p.T.F64(), 0)
		}
		if err != nil {
			return fmt.Errorf("dist: broadcasting parameter %q: %w", p.Name, err)
		}
	}
	return nil
}

func (d *DataParallel) setPhase(s string) {
	if d.phase != nil {
		d.phase(s)
	}
}

// ReduceGradients turns each rank's gradients, means over its local
// examples of a global batch of global examples, into the gradient of the
// mean over the global batch, the same bits on every rank. Every rank must
// call it once per step, a rank with no examples (local 0) included: its
// gradients count as zeros. A parameter without a gradient is given one.
func (d *DataParallel) ReduceGradients(local, global int) error {
	n := d.comm.Size()
	if local < 0 || global < 1 || local > global {
		return fmt.Errorf("dist: ReduceGradients: %d local examples of a global batch of %d", local, global)
	}
	// Equal slices: sum, then scale by 1/N. Unequal ones (a short last
	// batch): weight each rank's mean by its share first; see the package
	// documentation.
	pre := 1.0
	if local*n != global {
		pre = float64(local) * float64(n) / float64(global)
	}
	post := 1 / float64(n)
	for bi := range d.buckets {
		b := &d.buckets[bi]
		d.setPhase(d.phases[bi])
		for _, pi := range b.params {
			d.adopt(pi)
		}
		var err error
		if b.dtype == bp.Float32 {
			err = reduce(b.flat32, pre, post, d.comm.AllreduceFloat32)
		} else {
			err = reduce(b.flat64, pre, post, d.comm.AllreduceFloat64)
		}
		if err != nil {
			return fmt.Errorf("dist: reducing gradient bucket %d of %d: %w", bi+1, len(d.buckets), err)
		}
	}
	return nil
}

func reduce[T float32 | float64](buf []T, pre, post float64, allreduce func([]T) error) error {
	scale(buf, pre)
	if err := allreduce(buf); err != nil {
		return err
	}
	scale(buf, post)
	return nil
}

func scale[T float32 | float64](s []T, f float64) {
	if f == 1 {
		return
	}
	// The kernels' multiply by a broadcast scalar, vectorized: a plain
	// loop costs as much as the allreduce of a small model.
	kernels.MulRun(s, s, 0, 1, []T{T(f)}, 0, 0)
}

// adopt makes parameter i's gradient its view of the bucket again, copying
// the values of a gradient that other code put in its place (none reads as
// zeros).
func (d *DataParallel) adopt(i int) {
	t, v := d.params[i].T, d.views[i]
	g := t.Grad() // fills a gradient ZeroGrad deferred with zeros
	if g == v {
		return
	}
	switch {
	case g == nil:
		if v.DType() == bp.Float32 {
			clear(v.F32())
		} else {
			clear(v.F64())
		}
	case v.DType() == bp.Float32:
		copy(v.F32(), g.Contiguous().Float32s())
	default:
		copy(v.F64(), g.Contiguous().Float64s())
	}
	t.SetGrad(v)
}

// InSync checks that every rank holds the same parameter values, bit for
// bit; an error names the first parameter that differs. It costs one
// small allreduce, for tests and occasional checks.
func (d *DataParallel) InSync() error {
	h := fnv.New64a()
	var b [8]byte
	var desc strings.Builder
	for _, p := range d.params {
		h.Reset()
		if p.T.DType() == bp.Float32 {
			for _, v := range p.T.F32() {
				u := math.Float32bits(v)
				b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
				h.Write(b[:4])
			}
		} else {
			for _, v := range p.T.F64() {
				u := math.Float64bits(v)
				for k := range 8 {
					b[k] = byte(u >> (8 * k))
				}
				h.Write(b[:])
			}
		}
		fmt.Fprintf(&desc, "parameter %q values %016x\n", p.Name, h.Sum64())
	}
	return Agree(d.comm, "the parameter values", desc.String())
}
