package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gobackprop/backprop"
)

// MaxHeaderSize is the largest JSON header Read accepts, in bytes. It is the
// reference implementation's limit: real headers are a few megabytes at
// most, and a larger claim is a damaged or hostile file.
const MaxHeaderSize = 100_000_000

// metadataKey is the header key that holds the free-form string metadata.
const metadataKey = "__metadata__"

// ChecksumPrefix starts the metadata keys that hold the checksums Write
// adds: "backprop.crc32c.NAME" holds the CRC-32C (Castagnoli) of tensor
// NAME's bytes in the file, as 8 lowercase hex digits.
//
// CRC-32C rather than a cryptographic hash: the checksum guards against
// accidents (a flipped bit on a disk or in a copy, a truncated or patched
// file), and CRC-32C catches every error of up to 32 adjacent bits and any
// single flipped byte for certain, at the speed of memory (Go computes it
// with the SSE 4.2 and ARMv8 CRC instructions), so checking a checkpoint
// costs next to nothing. Against someone who edits the file on purpose no
// checksum stored in the same file helps, SHA-256 included: they would
// rewrite it too.
const ChecksumPrefix = "backprop.crc32c."

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// chunk is how many bytes of tensor data are converted at a time, so that
// neither writing nor reading holds a second copy of a large tensor.
const chunk = 64 << 10

// FormatError reports a file that is not valid safetensors. Read returns it
// without a File; Load and LoadState fill in the path.
type FormatError struct {
	File   string // the file, when known
	Tensor string // the tensor the problem concerns, if one does
	Msg    string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("checkpoint: ")
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("safetensors")
	}
	b.WriteString(": ")
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func formatErr(tensor, format string, args ...any) *FormatError {
	return &FormatError{Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
}

// TensorInfo describes one tensor as a safetensors header states it.
type TensorInfo struct {
	Name  string
	DType string // as the file names it: "F32", "BF16", "I64", ...
	Shape []int
	// Begin and End delimit the tensor's bytes within the data section
	// (End is one past the last byte).
	Begin, End int64
}

// Header is the parsed, validated header of a safetensors file.
type Header struct {
	Tensors []TensorInfo // in the order of their data
	// Metadata is the file's __metadata__ without the checksums; nil when
	// the file has none (or only checksums).
	Metadata map[string]string
	// Checksums holds the CRC-32C of the tensors that have one (see
	// ChecksumPrefix), by tensor name; files written by other tools have
	// none.
	Checksums map[string]uint32
	// DataStart is the file offset of the data section: 8 + the header
	// length.
	DataStart int64
}

// Write writes tensors and metadata to w in the safetensors format.
//
// Tensors are laid out as the reference implementation lays them out:
// 8-byte element types first, then 4-byte ones, each group sorted by name,
// with the JSON header padded with spaces to a multiple of 8 bytes, so each
// tensor's data is aligned to its element size and the same input always
// gives the same bytes. Non-contiguous tensors are written in row-major
// order. Names and metadata must be valid UTF-8, no tensor may be called
// "__metadata__", and no metadata key may start with ChecksumPrefix: Write
// adds a checksum of every tensor under that prefix, which Read verifies.
func Write(w io.Writer, tensors map[string]*backprop.Tensor, metadata map[string]string) error {
	type entry struct {
		name string
		t    *backprop.Tensor
		fd   fileDType
	}
	entries := make([]entry, 0, len(tensors))
	for name, t := range tensors {
		if t == nil {
			return fmt.Errorf("checkpoint: write: tensor %q is nil", name)
		}
		if name == metadataKey {
			return fmt.Errorf("checkpoint: write: %q is reserved and cannot name a tensor", name)
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("checkpoint: write: tensor name %q is not valid UTF-8", name)
		}
		fd, err := fileDTypeOf(t.DType())
		if err != nil {
			return fmt.Errorf("checkpoint: write: tensor %q: %v", name, err)
		}
		entries = append(entries, entry{name, t, fd})
	}
	md := make(map[string]string, len(metadata)+len(entries))
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("checkpoint: write: metadata %q: %q is not valid UTF-8", k, v)
		}
		if strings.HasPrefix(k, ChecksumPrefix) {
			return fmt.Errorf("checkpoint: write: metadata key %q is reserved (keys starting %q hold the checksums Write adds)", k, ChecksumPrefix)
		}
		md[k] = v
	}
	buf := make([]byte, 8, chunk)
	for _, e := range entries {
		// The header comes first, so the checksums take a pass of their
		// own over the data, in the bytes the file will hold.
		crc := uint32(0)
		eachChunk(e.t, e.fd, &buf, func(b []byte) error {
			crc = crc32.Update(crc, castagnoli, b)
			return nil
		})
		md[ChecksumPrefix+e.name] = fmt.Sprintf("%08x", crc)
	}
	metadata = md
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(b.fd.rank, a.fd.rank); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})

	// The header, in the reference's compact form: metadata first, then
	// the tensors in the order of their data.
	h := []byte{'{'}
	if len(metadata) > 0 {
		h = appendJSONString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	var off int64
	for i, e := range entries {
		if i > 0 || len(metadata) > 0 {
			h = append(h, ',')
		}
		n := int64(e.t.Numel()) * int64(e.fd.size)
		h = appendJSONString(h, e.name)
		h = append(h, `:{"dtype":`...)
		h = appendJSONString(h, e.fd.name)
		h = append(h, `,"shape":[`...)
		for j, s := range e.t.Shape() {
			if j > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(s), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, off, 10)
		h = append(h, ',')
		h = strconv.AppendInt(h, off+n, 10)
		h = append(h, "]}"...)
		off += n
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}

	buf = buf[:8]
	le.PutUint64(buf, uint64(len(h)))
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	if _, err := w.Write(h); err != nil {
		return fmt.Errorf("checkpoint: write: %w", err)
	}
	for _, e := range entries {
		err := eachChunk(e.t, e.fd, &buf, func(b []byte) error {
			_, err := w.Write(b)
			return err
		})
		if err != nil {
			return fmt.Errorf("checkpoint: write: %w", err)
		}
	}
	return nil
}

// eachChunk encodes t as fd into *buf a chunk at a time, in row-major
// order, and calls f with each chunk.
func eachChunk(t *backprop.Tensor, fd fileDType, buf *[]byte, f func([]byte) error) error {
	t = t.Detach()
	if !t.IsContiguous() {
		t = t.Contiguous()
	}
	per := chunk / fd.size
	for i, n := 0, t.Numel(); i < n; i += per {
		*buf = encode((*buf)[:0], t, i, min(per, n-i))
		if err := f(*buf); err != nil {
			return err
		}
	}
	return nil
}

// appendJSONString appends s as a JSON string escaped the way serde_json,
// which the reference implementation uses, escapes it (Go's encoder also
// escapes <, > and &, which would change the bytes).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Read reads a safetensors file of size bytes from r. It checks the whole
// header before it allocates any tensor, so a damaged or hostile file gives
// a *FormatError and never a panic or an allocation larger than the file.
//
// F32, F64 and I64 tensors load as they are; F16 and BF16 widen exactly to
// Float32; BOOL, U8, I8, I16, U16, I32, U32 and U64 load as Int64 (a U64
// value above the int64 range is an error). The 8-bit float types are
// rejected. metadata is nil when the file has none.
//
// A tensor whose checksum is stored (see ChecksumPrefix) must match it: a
// damaged tensor is a *FormatError naming it. A file without checksums, as
// other tools write them, loads as it is. The checksums are not part of
// the metadata returned.
func Read(r io.ReaderAt, size int64) (tensors map[string]*backprop.Tensor, metadata map[string]string, err error) {
	tensors, metadata, err = read(r, size)
	if err != nil {
		return nil, nil, wrap(err, "")
	}
	return tensors, metadata, nil
}

// ReadHeader reads and validates only the header of a safetensors file of
// size bytes, for tools that list a file's tensors without loading them.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, wrap(err, "")
	}
	return h, nil
}

// Load reads the safetensors file at path; see Read. Errors name the file.
func Load(path string) (tensors map[string]*backprop.Tensor, metadata map[string]string, err error) {
	// Read needs the size and reads at offsets; a device or a pipe has
	// neither (its "size" of 0 would give a misleading message), and
	// opening a pipe would wait for a writer. So look before opening.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		what := "not a regular file"
		switch m := st.Mode(); {
		case m.IsDir():
			what = "a directory"
		case m&fs.ModeNamedPipe != 0:
			what = "a named pipe"
		case m&fs.ModeDevice != 0:
			what = "a device"
		}
		return nil, nil, fmt.Errorf("checkpoint: %s is %s; a checkpoint is read from a regular file", path, what)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	tensors, metadata, err = read(f, st.Size())
	if err != nil {
		return nil, nil, wrap(err, path)
	}
	return tensors, metadata, nil
}

// Save writes tensors and metadata to path in the safetensors format (see
// Write), atomically: the file at path is either the old one, untouched, or
// the new one, complete and synced to disk, whatever happens during the
// save.
func Save(path string, tensors map[string]*backprop.Tensor, metadata map[string]string) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		return Write(w, tensors, metadata)
	})
}

// wrap gives err the file name and the package prefix.
func wrap(err error, file string) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		c := *fe
		c.File = file
		return &c
	}
	if file == "" {
		return fmt.Errorf("checkpoint: read: %w", err)
	}
	return fmt.Errorf("checkpoint: %s: %w", file, err)
}

func read(r io.ReaderAt, size int64) (map[string]*backprop.Tensor, map[string]string, error) {
	h, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	tensors := make(map[string]*backprop.Tensor, len(h.Tensors))
	buf := make([]byte, chunk)
	for _, ti := range h.Tensors {
		fd := fileDTypes[ti.DType]
		t := fd.to.Zeros(ti.Shape...)
		pos := h.DataStart + ti.Begin
		crc := uint32(0)
		for i, n := 0, t.Numel(); i < n; {
			m := min(chunk/fd.size, n-i)
			b := buf[:m*fd.size]
			if err := readFull(r, b, pos); err != nil {
				return nil, nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
			}
			crc = crc32.Update(crc, castagnoli, b)
			if err := decode(fd, t, i, b); err != nil {
				return nil, nil, formatErr(ti.Name, "%v", err)
			}
			pos += int64(len(b))
			i += m
		}
		if want, ok := h.Checksums[ti.Name]; ok && crc != want {
			return nil, nil, formatErr(ti.Name, "its bytes do not match their checksum (CRC-32C %08x stored, %08x read): the file is damaged", want, crc)
		}
		tensors[ti.Name] = t
	}
	return tensors, h.Metadata, nil
}

// readFull fills b from r at off. A ReaderAt may report io.EOF with a full
// buffer at the end of its data; only a short read is an error.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	k, err := r.ReadAt(b, off)
	if k == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func readHeader(r io.ReaderAt, size int64) (*Header, error) {
	if size < 8 {
		return nil, formatErr("", "file of %d bytes is too short for the 8-byte header length", size)
	}
	var lb [8]byte
	if err := readFull(r, lb[:], 0); err != nil {
		return nil, err
	}
	n := le.Uint64(lb[:])
	if n > MaxHeaderSize || int64(n) > size-8 {
		// A file of another kind (text, a PNG, a PyTorch pickle) reads as an
		// absurd length; say what it is not rather than only that.
		var b [1]byte
		if size > 8 && readFull(r, b[:], 8) == nil && b[0] != '{' {
			return nil, formatErr("", "not a safetensors file: it should begin with an 8-byte header length and a JSON header, and byte 8 is %q, not '{'", b[0])
		}
	}
	if n > MaxHeaderSize {
		return nil, formatErr("", "header length %d is over the limit of %d bytes", n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, formatErr("", "header length %d runs past the end of the file (%d bytes)", n, size)
	}
	hb := make([]byte, n)
	if err := readFull(r, hb, 8); err != nil {
		return nil, err
	}
	h, err := parseHeader(hb, size-8-int64(n))
	if err != nil {
		return nil, err
	}
	h.DataStart = 8 + int64(n)
	return h, nil
}

// parseHeader decodes and checks a JSON header for a data section of
// dataLen bytes.
func parseHeader(hb []byte, dataLen int64) (*Header, error) {
	if !utf8.Valid(hb) {
		return nil, formatErr("", "header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hb))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, formatErr("", "header is not a JSON object")
	}
	h := &Header{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badJSON(err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, formatErr("", "key %q appears twice in the header", name)
		}
		seen[name] = true
		if name == metadataKey {
			if h.Metadata, err = parseMetadata(dec); err != nil {
				return nil, err
			}
			continue
		}
		ti, err := parseTensorInfo(dec, name)
		if err != nil {
			return nil, err
		}
		h.Tensors = append(h.Tensors, ti)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, badJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, formatErr("", "header has data after its JSON object")
	}

	for _, ti := range h.Tensors {
		if err := checkTensorInfo(ti, dataLen); err != nil {
			return nil, err
		}
	}
	// The tensors must tile the data section: sorted by offset, each starts
	// where the one before ended, and the last ends at the end of the file.
	slices.SortStableFunc(h.Tensors, func(a, b TensorInfo) int {
		if c := cmp.Compare(a.Begin, b.Begin); c != 0 {
			return c
		}
		return cmp.Compare(a.End, b.End)
	})
	var pos int64
	for i, ti := range h.Tensors {
		if ti.Begin < pos {
			return nil, formatErr(ti.Name, "data_offsets [%d, %d] overlap those of tensor %q, which end at %d", ti.Begin, ti.End, h.Tensors[i-1].Name, pos)
		}
		if ti.Begin > pos {
			return nil, formatErr(ti.Name, "data_offsets [%d, %d] leave bytes %d to %d of the data belonging to no tensor", ti.Begin, ti.End, pos, ti.Begin)
		}
		pos = ti.End
	}
	if pos != dataLen {
		return nil, formatErr("", "the tensors cover %d bytes, but the data section has %d", pos, dataLen)
	}
	if err := takeChecksums(h); err != nil {
		return nil, err
	}
	return h, nil
}

// takeChecksums moves the checksums out of h.Metadata into h.Checksums,
// checking that each is 8 hex digits and names a tensor of the file.
func takeChecksums(h *Header) error {
	names := make(map[string]bool, len(h.Tensors))
	for _, ti := range h.Tensors {
		names[ti.Name] = true
	}
	for k, v := range h.Metadata {
		name, ok := strings.CutPrefix(k, ChecksumPrefix)
		if !ok {
			continue
		}
		if !names[name] {
			return formatErr("", "%s: %q is the checksum of a tensor %q that the file does not hold", metadataKey, k, name)
		}
		c, err := strconv.ParseUint(v, 16, 32)
		if err != nil || len(v) != 8 {
			return formatErr(name, "checksum %q is not 8 hex digits", v)
		}
		if h.Checksums == nil {
			h.Checksums = map[string]uint32{}
		}
		h.Checksums[name] = uint32(c)
		delete(h.Metadata, k)
	}
	if len(h.Metadata) == 0 && len(h.Checksums) > 0 {
		h.Metadata = nil
	}
	return nil
}

func badJSON(err error) error {
	return formatErr("", "header is not valid JSON: %v", err)
}

// parseMetadata reads the __metadata__ value: null, or an object of strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, badJSON(err)
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, formatErr("", "%s is not an object of strings", metadataKey)
	}
	md := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badJSON(err)
		}
		k := tok.(string)
		if tok, err = dec.Token(); err != nil {
			return nil, badJSON(err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, formatErr("", "%s: value of %q is not a string", metadataKey, k)
		}
		if _, dup := md[k]; dup {
			return nil, formatErr("", "%s: key %q appears twice", metadataKey, k)
		}
		md[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, badJSON(err)
	}
	return md, nil
}

// parseTensorInfo reads one tensor's entry: an object with dtype, shape and
// data_offsets. Other keys are ignored, as the reference ignores them.
func parseTensorInfo(dec *json.Decoder, name string) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	tok, err := dec.Token()
	if err != nil {
		return ti, badJSON(err)
	}
	if tok != json.Delim('{') {
		return ti, formatErr(name, "entry is not an object")
	}
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ti, badJSON(err)
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ti, badJSON(err)
		}
		dup := false
		switch key {
		case "dtype":
			dup, haveDType = haveDType, true
			if err := json.Unmarshal(raw, &ti.DType); err != nil || raw[0] != '"' {
				return ti, formatErr(name, "dtype %s is not a string", raw)
			}
		case "shape":
			dup, haveShape = haveShape, true
			dims, err := parseInts(raw)
			if err != nil {
				return ti, formatErr(name, "shape %s: %v", raw, err)
			}
			ti.Shape = make([]int, len(dims))
			for i, d := range dims {
				if d < 0 {
					return ti, formatErr(name, "shape %s has a negative dimension", raw)
				}
				if d > math.MaxInt {
					return ti, formatErr(name, "shape %s has a dimension too large for this machine", raw)
				}
				ti.Shape[i] = int(d)
			}
		case "data_offsets":
			dup, haveOffsets = haveOffsets, true
			offs, err := parseInts(raw)
			if err == nil && len(offs) != 2 {
				err = errors.New("want two offsets, [begin, end]")
			}
			if err != nil {
				return ti, formatErr(name, "data_offsets %s: %v", raw, err)
			}
			ti.Begin, ti.End = offs[0], offs[1]
		}
		if dup {
			return ti, formatErr(name, "key %q appears twice", key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return ti, badJSON(err)
	}
	switch {
	case !haveDType:
		return ti, formatErr(name, "entry has no dtype")
	case !haveShape:
		return ti, formatErr(name, "entry has no shape")
	case !haveOffsets:
		return ti, formatErr(name, "entry has no data_offsets")
	}
	return ti, nil
}

// parseInts decodes a JSON array of integers, rejecting null, fractions,
// exponents and strings, which encoding/json would otherwise coerce.
func parseInts(raw json.RawMessage) ([]int64, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || raw[0] != '[' {
		return nil, errors.New("not an array of integers")
	}
	out := make([]int64, len(elems))
	for i, e := range elems {
		v, err := strconv.ParseInt(string(e), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a 64-bit integer", e)
		}
		out[i] = v
	}
	return out, nil
}

// checkTensorInfo checks one entry on its own: a dtype this package reads,
// offsets inside the data section, and a byte count that matches the shape.
func checkTensorInfo(ti TensorInfo, dataLen int64) error {
	fd, known := fileDTypes[ti.DType]
	if !known {
		return formatErr(ti.Name, "unknown dtype %q", ti.DType)
	}
	if !fd.ok {
		return formatErr(ti.Name, "dtype %s is not supported", ti.DType)
	}
	if ti.Begin < 0 || ti.End < ti.Begin || ti.End > dataLen {
		return formatErr(ti.Name, "data_offsets [%d, %d] out of range for a data section of %d bytes", ti.Begin, ti.End, dataLen)
	}
	// Multiply in order and stop at overflow, as the reference does: a
	// zero late in the shape does not excuse an overflow before it.
	numel := int64(1)
	for _, d := range ti.Shape {
		if d != 0 && numel > math.MaxInt64/int64(d) {
			return formatErr(ti.Name, "shape %v has more elements than fit in 64 bits", ti.Shape)
		}
		numel *= int64(d)
	}
	if numel > math.MaxInt64/int64(fd.size) {
		return formatErr(ti.Name, "shape %v of %s is too large", ti.Shape, ti.DType)
	}
	want := numel * int64(fd.size)
	if ti.End-ti.Begin != want {
		return formatErr(ti.Name, "data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", ti.Begin, ti.End, ti.End-ti.Begin, ti.Shape, ti.DType, want)
	}
	if want > math.MaxInt {
		return formatErr(ti.Name, "%d bytes are too many for this machine", want)
	}
	return nil
}
