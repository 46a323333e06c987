//go:build !amd64 || purego

package kernels

// archGemmImpls: no assembly kernels here; Gemm runs the generic one.
func archGemmImpls() []*gemmImpl { return nil }
