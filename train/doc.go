// Package train is the training loop of the train command, for any program
// that wants one: it trains a model on a data set epoch by epoch, evaluates
// the test set after each epoch, and saves checkpoints from which a run
// resumes bit for bit. The CLI, a benchmark or a live web page drive the
// same Trainer and see its progress through the Progress interface.
//
//	trainSet, testSet, err := train.LoadData("mnist", "")
//	cfg, err := train.Defaults("cnn") // Adam, lr 1e-3, batch 64, 3 epochs
//	tr, err := train.New(cfg, trainSet, testSet)
//	err = tr.Run(ctx, "runs/mnist-cnn.safetensors", train.NewProgress(os.Stderr))
//
// # One step
//
// Each step is the loop one writes by hand (examples/mnist has it in full):
// forward the batch, compute the loss, Backward, clip the gradients' norm if
// asked, Step the optimizer, ZeroGrad, and move the learning-rate schedule
// on. Schedules count steps, so a cosine schedule decays smoothly within
// epochs; StepLR decays at epoch boundaries. Evaluation runs the model in
// evaluation mode on inputs marked NoGrad, so no graph is recorded.
//
// # Checkpoints and resuming
//
// Save writes, atomically, a safetensors file with the weights under their
// state-dict names, the optimizer's state, the epoch and step counts, the
// random generator's state and the model's name (see package checkpoint),
// and in the metadata the Config as JSON ("train.config"), the metrics of
// every epoch so far ("train.history") and the number of training examples
// ("train.examples"). Beside it go the metrics as CSV and a PNG plot of the
// curves (SidePaths).
//
// Restore loads such a file into a Trainer built with the same settings.
// The loader's order depends only on the seed and the epoch number, the
// random generator continues from its saved state, the optimizer from its
// buffers and the schedule from the step count, so the resumed run ends
// with the same weights, bit for bit, as one that never stopped; and since
// the kernels split their work by shape alone, whatever the thread count.
// A Trainer built with other settings is refused, naming each difference by
// its flag (Config.Mismatch): continuing with another learning rate or
// batch size would silently be a different run. Only the number of epochs
// (a total, so a resumed run with more epochs trains on) and the size of
// the test set may change, and the epochs not under a cosine schedule.
//
// # Many processes
//
// Distribute makes a Trainer one rank of a data-parallel run over a
// dist.Comm (Open MPI's, from package dist/mpi, when mpirun started the
// program): Config.Batch stays the global batch, of which each rank
// takes an equal slice; the gradients are averaged across the ranks
// before every step; evaluation is split and summed; only rank 0 saves.
// The checkpoint is the one a single process writes, so a run resumes
// with any number of processes, bit for bit with the same number.
// TextTrainer.Distribute does the same for the language models: each rank
// takes its share of every batch's windows, and the validation loss is
// split between the ranks and summed.
//
// # Concurrency
//
// A Trainer, its model and its optimizer belong to one goroutine while it
// trains. Evaluate only reads a model that is already in evaluation mode,
// so several goroutines may evaluate one at once.
package train
