package data

import (
	"bytes"
	"testing"
)

// FuzzReadIDX feeds arbitrary bytes to the IDX readers, as a generic IDX
// file, as MNIST images and as MNIST labels. None may panic, and a success
// must describe exactly the data returned.
func FuzzReadIDX(f *testing.F) {
	im, lb := tinyMNIST()
	for _, b := range [][]byte{im, lb, gz(im), gz(lb), im[:9], append(gz(im), 0x1f, 0x8b),
		idx(0x00000802, []int{2, 2}, []byte{1, 2, 3, 4}), idx(idxImagesMagic, []int{1 << 30, 1 << 30, 4}, nil)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if dims, data, err := ReadIDX(bytes.NewReader(b)); err == nil {
			n := 1
			for _, d := range dims {
				n *= d
			}
			if len(dims) == 0 || len(data) != n {
				t.Fatalf("ReadIDX: dims %v but %d bytes", dims, len(data))
			}
		}
		if n, h, w, pix, err := readMNISTImages(bytes.NewReader(b)); err == nil {
			if h < 1 || w < 1 || len(pix) != n*h*w {
				t.Fatalf("images: %d of %d×%d but %d bytes", n, h, w, len(pix))
			}
			lab := make([]byte, n)
			d, err := ReadMNIST(bytes.NewReader(b), bytes.NewReader(idx(idxLabelsMagic, []int{n}, lab)))
			if err != nil || d.Len() != n || len(d.Images()) != n*h*w {
				t.Fatalf("ReadMNIST on images that read: %v", err)
			}
		}
		if lab, err := readMNISTLabels(bytes.NewReader(b)); err == nil {
			for _, v := range lab {
				if v > 9 {
					t.Fatalf("label %d accepted", v)
				}
			}
		}
	})
}

// FuzzReadCIFAR feeds arbitrary bytes to the CIFAR-10 batch reader.
func FuzzReadCIFAR(f *testing.F) {
	rec := cifarRecords(2, 8)
	f.Add(rec)
	f.Add(gz(rec))
	f.Add(rec[:100])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadCIFAR10(bytes.NewReader(b))
		if err != nil {
			return
		}
		if d.Len() == 0 || len(d.Images()) != d.Len()*cifarPixels || len(d.Labels()) != d.Len() {
			t.Fatalf("%d examples, %d values", d.Len(), len(d.Images()))
		}
		for _, v := range d.Images() {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %v outside [0, 1]", v)
			}
		}
		for _, y := range d.Labels() {
			if y < 0 || y > 9 {
				t.Fatalf("label %d", y)
			}
		}
	})
}
