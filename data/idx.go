package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// IDX magic numbers of the MNIST files: two zero bytes, the element type
// (0x08, unsigned byte) and the number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXBytes bounds the data an IDX header may announce (16 GiB, or what
// an int holds on 32-bit machines), so that a corrupt header fails cleanly
// instead of overflowing int.
const maxIDXBytes = min(1<<34, math.MaxInt)

// ReadIDX reads an IDX file of unsigned bytes (element type 0x08), the
// format of the MNIST files, compressed with gzip or not (recognised by the
// gzip magic bytes, not by a name). It returns the dimensions from the
// header and the data, len(data) being their product. A stream with fewer
// or more bytes than the header announces is an error.
func ReadIDX(r io.Reader) (dims []int, data []byte, err error) {
	s, err := newSource(r)
	if err != nil {
		return nil, nil, err
	}
	_, dims, data, err = s.readIDX(0)
	return dims, data, err
}

// source reads a stream that may be gzipped, and names what went wrong in
// terms of the file: truncated, corrupt gzip, trailing data.
type source struct {
	r  io.Reader
	gz bool
}

func newSource(r io.Reader) (*source, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("corrupt gzip stream: %w", err)
		}
		zr.Multistream(false)
		s := &source{gz: true}
		s.r = &gzipMembers{zr: zr, br: br}
		return s, nil
	}
	return &source{r: br}, nil
}

// errTrailing is returned for bytes after the last gzip member.
var errTrailing = errors.New("data after the end of the gzip stream")

// gzipMembers reads concatenated gzip members as one stream, as gzip -d
// does, but reports bytes after the last member that do not start another
// one as errTrailing (gzip.Reader would report them as a bad header, or as
// a truncated one when there are fewer than ten).
type gzipMembers struct {
	zr *gzip.Reader
	br *bufio.Reader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != io.EOF {
		return n, err
	}
	head, perr := g.br.Peek(2)
	if perr != nil && perr != io.EOF {
		return n, perr // the stream failed; it may have held more
	}
	switch {
	case len(head) == 0:
		return n, io.EOF
	case len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b:
		if err := g.zr.Reset(g.br); err != nil {
			return n, err
		}
		g.zr.Multistream(false)
		return n, nil
	}
	return n, errTrailing
}

// fail turns a read error into one that says what it means for the file;
// what describes the part being read.
func (s *source) fail(err error, what string, got, want int) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		if s.gz {
			return fmt.Errorf("truncated: the gzip stream ends after %d of the %d bytes of %s", got, want, what)
		}
		return fmt.Errorf("truncated: %d of the %d bytes of %s", got, want, what)
	}
	return s.corrupt(err)
}

// corrupt names errors of the gzip decoder as such; others (from the
// underlying file) pass unchanged.
func (s *source) corrupt(err error) error {
	if errors.Is(err, errTrailing) {
		return err
	}
	var ce flate.CorruptInputError
	if s.gz && (errors.As(err, &ce) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader)) {
		return fmt.Errorf("corrupt gzip stream: %w", err)
	}
	return err
}

// readN reads exactly n bytes. The buffer grows with what actually arrives,
// so that a header announcing gigabytes on a short file fails without first
// allocating them.
func (s *source) readN(n int, what string) ([]byte, error) {
	buf := make([]byte, 0, min(n, 64<<10))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(len(buf), n-len(buf)))
		}
		m, err := s.r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			return nil, s.fail(err, what, len(buf), n)
		}
	}
	return buf, nil
}

// end checks that nothing follows the data, which also makes gzip verify
// its checksum.
func (s *source) end() error {
	var one [1]byte
	n, err := io.ReadFull(s.r, one[:])
	if n > 0 {
		return errors.New("more data than the header describes")
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) && s.gz {
		return errors.New("truncated: the gzip stream ends before its trailer")
	}
	return s.corrupt(err)
}

// readAll reads the rest of the stream.
func (s *source) readAll() ([]byte, error) {
	b, err := io.ReadAll(s.r)
	if err != nil {
		if s.gz && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated: the gzip stream ends early, after %d bytes", len(b))
		}
		return nil, s.corrupt(err)
	}
	return b, nil
}

// readIDX reads an IDX stream whose magic must be want (any unsigned-byte
// IDX when want is 0).
func (s *source) readIDX(want uint32) (magic uint32, dims []int, data []byte, err error) {
	head, err := s.readN(4, "the IDX magic number")
	if err != nil {
		return 0, nil, nil, err
	}
	magic = binary.BigEndian.Uint32(head)
	if want != 0 && magic != want {
		return magic, nil, nil, fmt.Errorf("wrong magic number 0x%08x, want 0x%08x (%s)", magic, want, idxKind(want))
	}
	if magic>>16 != 0 {
		return magic, nil, nil, fmt.Errorf("not an IDX file: magic number 0x%08x does not start with two zero bytes", magic)
	}
	if t := head[2]; t != 0x08 {
		return magic, nil, nil, fmt.Errorf("IDX element type 0x%02x is not supported, only unsigned bytes (0x08)", t)
	}
	nd := int(head[3])
	if nd == 0 {
		return magic, nil, nil, errors.New("IDX header has 0 dimensions")
	}
	hd, err := s.readN(4*nd, fmt.Sprintf("the %d IDX dimensions", nd))
	if err != nil {
		return magic, nil, nil, err
	}
	dims = make([]int, nd)
	total := 1
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(hd[4*i:]))
		if dims[i] != 0 && total > maxIDXBytes/dims[i] {
			return magic, nil, nil, fmt.Errorf("IDX dimensions %v announce more than %d bytes", dims[:i+1], maxIDXBytes)
		}
		total *= dims[i]
	}
	data, err = s.readN(total, fmt.Sprintf("data of IDX dimensions %v", dims))
	if err != nil {
		return magic, nil, nil, err
	}
	if err := s.end(); err != nil {
		return magic, nil, nil, err
	}
	return magic, dims, data, nil
}

func idxKind(magic uint32) string {
	switch magic {
	case idxImagesMagic:
		return "an IDX image file"
	case idxLabelsMagic:
		return "an IDX label file"
	}
	return "IDX"
}
