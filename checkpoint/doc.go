// Package checkpoint saves and loads tensors in the safetensors format, the
// format of Hugging Face's safetensors library, and keeps training state
// (weights, optimizer tensors, counters, random state) in it so that an
// interrupted run resumes exactly where it stopped.
//
// # The file format
//
// A safetensors file is three parts:
//
//	8 bytes   N, the header length, an unsigned little-endian integer
//	N bytes   a UTF-8 JSON object, the header
//	the rest  the tensors' bytes, little-endian, row-major, back to back
//
// The header maps each tensor's name to its element type, shape and byte
// range within the data section (relative to its start, end exclusive):
//
//	{"__metadata__":{"backprop.epoch":"3"},
//	 "fc1.weight":{"dtype":"F32","shape":[128,784],"data_offsets":[0,401408]},
//	 ...}
//
// The optional "__metadata__" entry maps strings to strings.
//
// Write lays files out byte for byte as the reference implementation does
// (given the same metadata, to which Write adds the checksums below):
// compact JSON with "__metadata__" first (its keys sorted), tensors ordered
// by element size, largest first, then by name, and the header padded with
// spaces to a multiple of 8 bytes. Every tensor's data then starts at a
// multiple of its element size, which readers that map the file into memory
// rely on, and equal inputs give equal files. Float32 tensors are stored as
// F32, Float64 as F64 and Int64 as I64.
//
// Read checks a file as the reference does, and a little more, before it
// allocates anything: the header length against the file and against
// MaxHeaderSize; the header as JSON with no repeated keys; each entry's
// dtype, shape (no negative dimensions, no overflow) and offsets; the byte
// count of each range against its shape and dtype; and that the ranges,
// sorted, tile the data section exactly, without gaps or overlaps. Any
// failure is a *FormatError naming the file and the tensor. Besides F32,
// F64 and I64 it reads F16 and BF16 (as Float32) and BOOL, U8, I8, I16,
// U16, I32, U32 and U64 (as Int64); the 8-bit float types are an error.
//
// # Checksums
//
// Write adds to "__metadata__" a CRC-32C of each tensor's bytes, under
// "backprop.crc32c.NAME" (8 hex digits; see ChecksumPrefix for why CRC-32C),
// and Read checks every tensor that has one: a flipped bit in a weight is
// an error naming the tensor rather than a model that loads and then
// diverges. Files without checksums, as other tools write them, load as
// before. Read takes the checksums out of the metadata it returns, so a
// file loaded and saved again round-trips.
//
// CheckFinite refuses tensors holding NaN or Inf, naming the tensor and
// the element; a checksum cannot catch those, since they may have been
// saved that way.
//
// # Saving atomically
//
// Save writes to a temporary file in the target's directory (named
// ".NAME.tmp-RANDOM", RANDOM being digits), fsyncs it, renames it over the
// target and fsyncs the directory. Whatever fails or crashes along the way,
// the target is either the old file, untouched, or the new one, complete.
// A crash can leave a stray temporary file behind, never a half-written
// target; the next successful save of the same target removes such
// strays (files of exactly that name pattern, nothing else). A save under
// way holds a lock on its temporary file (flock, which the kernel drops
// when a process dies), so saves of one target running at once in several
// processes leave each other's files alone.
//
// A target that exists and is not a regular file is never replaced: a
// named pipe, a device (/dev/null, /dev/stdout) or /dev/fd/N, directly or
// through a symlink, is opened for writing and the file streamed into it
// (the format is written front to back, so a reader on a pipe gets a
// complete file). A socket or a directory is an error. CheckWritable finds
// an unusable target before a long job starts.
//
// # Training state
//
// SaveState stores a State in an ordinary safetensors file:
//
//   - each model weight under its own name ("fc1.weight", "fc1.bias"), so
//     other tools, safetensors.torch.load_file among them, read the file
//     as a file of weights;
//   - each optimizer tensor under OptimPrefix and its name
//     ("optim/fc1.weight.m");
//   - in "__metadata__": "backprop.state" (the layout version, 1),
//     "backprop.epoch" and "backprop.step" (decimal integers),
//     "backprop.model" (the model name, when set) and "backprop.rng" (the
//     random generator's state in standard base64, when set), next to the
//     caller's own Meta strings, whose keys must not start with "backprop.".
//
// LoadState reverses this. It also loads a plain file of weights, as a
// state at epoch 0 with no optimizer tensors.
//
// # Concurrency
//
// The functions of this package keep no state between calls. Writing a
// tensor reads it, so it must not be modified while Save or Write runs;
// loaded tensors are new and belong to the caller.
package checkpoint
