package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gobackprop/backprop"
)

// fileDType is one of the element types a safetensors header may name.
type fileDType struct {
	name string
	size int
	// rank is the dtype's position in the reference implementation's list,
	// which is ordered by alignment: writers put higher ranks first so that
	// every tensor's data starts at a multiple of its element size.
	rank int
	// to is the tensor dtype the values load as; ok is false for dtypes
	// that the format defines but this package cannot convert.
	to backprop.DType
	ok bool
}

var fileDTypes = map[string]fileDType{
	"BOOL":    {"BOOL", 1, 0, backprop.Int64, true},
	"U8":      {"U8", 1, 1, backprop.Int64, true},
	"I8":      {"I8", 1, 2, backprop.Int64, true},
	"F8_E5M2": {"F8_E5M2", 1, 3, 0, false},
	"F8_E4M3": {"F8_E4M3", 1, 4, 0, false},
	"I16":     {"I16", 2, 5, backprop.Int64, true},
	"U16":     {"U16", 2, 6, backprop.Int64, true},
	"F16":     {"F16", 2, 7, backprop.Float32, true},
	"BF16":    {"BF16", 2, 8, backprop.Float32, true},
	"I32":     {"I32", 4, 9, backprop.Int64, true},
	"U32":     {"U32", 4, 10, backprop.Int64, true},
	"F32":     {"F32", 4, 11, backprop.Float32, true},
	"F64":     {"F64", 8, 12, backprop.Float64, true},
	"I64":     {"I64", 8, 13, backprop.Int64, true},
	"U64":     {"U64", 8, 14, backprop.Int64, true},
}

// fileDTypeOf names the file dtype a tensor of dtype dt is written as.
func fileDTypeOf(dt backprop.DType) (fileDType, error) {
	switch dt {
	case backprop.Float32:
		return fileDTypes["F32"], nil
	case backprop.Float64:
		return fileDTypes["F64"], nil
	case backprop.Int64:
		return fileDTypes["I64"], nil
	}
	return fileDType{}, fmt.Errorf("dtype %v cannot be stored", dt)
}

var le = binary.LittleEndian

// decode converts src, whole elements of dtype fd, into dst starting at
// element i. dst is the storage of a contiguous tensor of dtype fd.to.
func decode(fd fileDType, dst *backprop.Tensor, i int, src []byte) error {
	n := len(src) / fd.size
	switch fd.name {
	case "F32":
		d := dst.F32()[i : i+n]
		for j := range d {
			d[j] = math.Float32frombits(le.Uint32(src[4*j:]))
		}
	case "F16":
		d := dst.F32()[i : i+n]
		for j := range d {
			d[j] = halfToFloat32(le.Uint16(src[2*j:]))
		}
	case "BF16":
		d := dst.F32()[i : i+n]
		for j := range d {
			d[j] = math.Float32frombits(uint32(le.Uint16(src[2*j:])) << 16)
		}
	case "F64":
		d := dst.F64()[i : i+n]
		for j := range d {
			d[j] = math.Float64frombits(le.Uint64(src[8*j:]))
		}
	case "I64":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(le.Uint64(src[8*j:]))
		}
	case "U64":
		d := dst.I64()[i : i+n]
		for j := range d {
			v := le.Uint64(src[8*j:])
			if v > math.MaxInt64 {
				return fmt.Errorf("U64 value %d at element %d does not fit in int64", v, i+j)
			}
			d[j] = int64(v)
		}
	case "I32":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(int32(le.Uint32(src[4*j:])))
		}
	case "U32":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(le.Uint32(src[4*j:]))
		}
	case "I16":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(int16(le.Uint16(src[2*j:])))
		}
	case "U16":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(le.Uint16(src[2*j:]))
		}
	case "I8":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(int8(src[j]))
		}
	case "U8":
		d := dst.I64()[i : i+n]
		for j := range d {
			d[j] = int64(src[j])
		}
	case "BOOL":
		d := dst.I64()[i : i+n]
		for j := range d {
			if src[j] != 0 {
				d[j] = 1
			} else {
				d[j] = 0
			}
		}
	default:
		return fmt.Errorf("dtype %s is not supported", fd.name)
	}
	return nil
}

// encode appends n elements of the contiguous tensor src, starting at
// element i, to dst in little-endian order.
func encode(dst []byte, src *backprop.Tensor, i, n int) []byte {
	switch src.DType() {
	case backprop.Float32:
		for _, v := range src.F32()[i : i+n] {
			dst = le.AppendUint32(dst, math.Float32bits(v))
		}
	case backprop.Float64:
		for _, v := range src.F64()[i : i+n] {
			dst = le.AppendUint64(dst, math.Float64bits(v))
		}
	default:
		for _, v := range src.I64()[i : i+n] {
			dst = le.AppendUint64(dst, uint64(v))
		}
	}
	return dst
}

// halfToFloat32 widens an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // infinities and NaNs keep their payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	// Rebias the exponent from 15 to 127.
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
