package checkpoint_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bp "github.com/gobackprop/backprop"
	"github.com/gobackprop/backprop/checkpoint"
)

// crc32cHex is CRC-32C computed bit by bit from its definition (reflected
// polynomial 0x82f63b78, initial and final XOR with all ones), apart from
// the table-driven, hardware-assisted code that Write and Read use.
func crc32cHex(b []byte) string {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return fmt.Sprintf("%08x", ^c)
}

func TestCRC32CDefinition(t *testing.T) {
	// The check value of CRC-32C from the catalogue of CRCs.
	if got := crc32cHex([]byte("123456789")); got != "e3069283" {
		t.Fatalf("crc32c(123456789) = %s", got)
	}
}

// Every byte of every tensor's data, flipped, is an error naming that
// tensor; the header's checksums are what was written.
func TestChecksumCatchesEveryFlippedByte(t *testing.T) {
	tensors := map[string]*bp.Tensor{
		"fc1.weight": bp.FromFloat32s([]float32{0.0302, -1, 2, 3}, 2, 2),
		"fc1.bias":   bp.FromFloat64s([]float64{0.5, 0.25}),
		"optim/step": bp.Int64.Scalar(7),
	}
	b := writeBytes(t, tensors, map[string]string{"k": "v"})
	h, err := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Checksums) != 3 || h.Metadata["k"] != "v" || len(h.Metadata) != 1 {
		t.Fatalf("checksums %v, metadata %v", h.Checksums, h.Metadata)
	}
	for _, ti := range h.Tensors {
		data := b[h.DataStart+ti.Begin : h.DataStart+ti.End]
		if got := fmt.Sprintf("%08x", h.Checksums[ti.Name]); got != crc32cHex(data) {
			t.Errorf("%s: checksum %s, want %s", ti.Name, got, crc32cHex(data))
		}
		for i := ti.Begin; i < ti.End; i++ {
			for _, flip := range []byte{0x01, 0x80, 0xff} {
				c := bytes.Clone(b)
				c[h.DataStart+i] ^= flip
				_, _, err := readBytes(c)
				var fe *checkpoint.FormatError
				if !errors.As(err, &fe) || fe.Tensor != ti.Name || !strings.Contains(err.Error(), "checksum") {
					t.Fatalf("%s byte %d ^ %#x: got %v, want a checksum error naming the tensor", ti.Name, i, flip, err)
				}
			}
		}
	}
}

// The report's case: one weight's bytes changed in place on disk (0.0302
// became 1.03e37), found by Load and LoadState, naming the tensor.
func TestLoadDamagedWeight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	st := checkpoint.State{Epoch: 1, Model: map[string]*bp.Tensor{
		"fc1.weight": bp.FromFloat32s([]float32{0.0302, 0.5}),
		"fc1.bias":   bp.Zeros(2),
	}}
	if err := checkpoint.SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := checkpoint.ReadHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range h.Tensors {
		if ti.Name == "fc1.weight" {
			b[h.DataStart+ti.Begin+3] ^= 0x7c // the sign-and-exponent byte of 0.0302
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, load := range []func() error{
		func() error { _, _, err := checkpoint.Load(path); return err },
		func() error { _, err := checkpoint.LoadState(path); return err },
	} {
		err := load()
		if err == nil || !strings.Contains(err.Error(), `"fc1.weight"`) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("got %v, want an error naming the file and fc1.weight", err)
		}
	}
}

// Files from other tools have no checksums and load as they are: one laid
// out as safetensors.torch.save_file lays it out (metadata {"format":
// "pt"}), and one without metadata at all.
func TestLoadWithoutChecksums(t *testing.T) {
	data := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0} // 1, -2
	for _, header := range []string{
		`{"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
		`{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`,
	} {
		for len(header)%8 != 0 {
			header += " "
		}
		ts, md, err := readBytes(file(header, data))
		if err != nil {
			t.Fatalf("%s: %v", header, err)
		}
		if w := ts["weight"].Float32s(); len(w) != 2 || w[0] != 1 || w[1] != -2 {
			t.Errorf("weight = %v", w)
		}
		if strings.Contains(header, "format") && md["format"] != "pt" {
			t.Errorf("metadata %v", md)
		}
		h, _ := checkpoint.ReadHeader(bytes.NewReader(file(header, data)), int64(len(file(header, data))))
		if h == nil || h.Checksums != nil {
			t.Errorf("checksums of a file without: %v", h)
		}
	}
	// One with a checksum for one tensor only: that one is checked.
	header := `{"__metadata__":{"backprop.crc32c.a":"` + crc32cHex(data[:4]) + `"},` +
		`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	if _, md, err := readBytes(file(header, data)); err != nil || md != nil {
		t.Errorf("partly checksummed file: %v %v", md, err)
	}
	bad := bytes.Clone(data)
	bad[0] ^= 1
	if _, _, err := readBytes(file(header, bad)); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("damaged checked tensor: %v", err)
	}
	bad = bytes.Clone(data)
	bad[4] ^= 1
	if _, _, err := readBytes(file(header, bad)); err != nil {
		t.Errorf("an unchecked tensor is not checked: %v", err)
	}
}

// Malformed checksum entries are format errors.
func TestBadChecksumEntries(t *testing.T) {
	data := []byte{0, 0, 0x80, 0x3f}
	for _, v := range []string{`"zz"`, `"1234567"`, `"123456789"`, `"-0000001"`, `"0x123456"`, `"+1234567"`} {
		header := `{"__metadata__":{"backprop.crc32c.a":` + v + `},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
		var fe *checkpoint.FormatError
		if _, _, err := readBytes(file(header, data)); !errors.As(err, &fe) {
			t.Errorf("checksum %s: got %v, want a FormatError", v, err)
		}
	}
	header := `{"__metadata__":{"backprop.crc32c.gone":"00000000"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	if _, _, err := readBytes(file(header, data)); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("checksum of a missing tensor: %v", err)
	}
	// The checksum keys belong to Write.
	var buf bytes.Buffer
	err := checkpoint.Write(&buf, map[string]*bp.Tensor{"a": bp.Ones(1)}, map[string]string{"backprop.crc32c.a": "00000000"})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("Write with a checksum key: %v", err)
	}
}

// Load then Save round-trips: the checksums do not reach the caller's
// metadata, so saving it again is accepted and gives the same bytes.
func TestChecksumsNotInMetadata(t *testing.T) {
	b := writeBytes(t, map[string]*bp.Tensor{"x": bp.Scalar(math.Pi)}, nil)
	ts, md, err := readBytes(b)
	if err != nil || md != nil {
		t.Fatalf("%v %v", md, err)
	}
	if again := writeBytes(t, ts, md); !bytes.Equal(again, b) {
		t.Error("rewriting what was read changed the bytes")
	}
}
