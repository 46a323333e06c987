// Package dist is data-parallel training: every process holds the whole
// model, takes its share of each batch, and the processes sum their
// gradients before every optimizer step, so that N processes do the
// arithmetic of one (PyTorch's DistributedDataParallel, Horovod).
//
// # Communicators
//
// A Comm is the handful of collective operations that needs: rank and
// size, broadcast, in-place allreduce (sum) of float32 and float64
// buffers, barrier and abort. Three implement it:
//
//   - Local, a world of one process, which does nothing and loads nothing:
//     what a program started without mpirun gets;
//   - NewGroup, ranks that are goroutines of one process, for tests and
//     for trying a data-parallel loop without MPI;
//   - package dist/mpi, Open MPI's libmpi.so.40, loaded at run time (with
//     purego, no cgo) when the process was started by mpirun.
//
// Every collective must be called by every rank, in the same order, with
// buffers of the same length; a rank that skips one leaves the others
// waiting. WithTimeout bounds that wait: a collective that has not
// finished after the timeout prints which rank waited in which collective
// and aborts the whole job, instead of hanging forever.
//
// # Data parallel
//
// DataParallel wraps a model's parameters. NewDataParallel checks that
// every rank has the same model (names, shapes, dtypes), the same bucket
// plan and the same settings (a tag string, such as the training
// configuration), failing on every rank with a message that names the
// difference rather than hanging or training garbage; it then broadcasts
// rank 0's weights. After each Backward, ReduceGradients sums the
// gradients bucket by bucket in a fixed order (the plan is built once, the
// buckets' sums are in the dtype of the parameters, float32 for training)
// and scales them, so that every rank holds the gradient of the mean loss
// over the global batch, bit for bit the same on every rank, and the
// optimizer steps that follow agree.
//
// Why the mean of the ranks' means is the global mean: with a global batch
// of n examples split into slices of n_r, each rank's loss is the mean over
// its slice, and the gradient of the global mean is sum_r (n_r/n) g_r. With
// equal slices n_r/n = 1/N, so the gradients are summed and scaled by 1/N;
// a short last batch, split unevenly, weights each rank's gradient by
// n_r·N/n before the same sum and scale.
//
// # Concurrency
//
// A Comm's collectives belong to one goroutine (the training loop);
// WithTimeout's watchdog is the only other goroutine that touches one, to
// abort.
package dist
