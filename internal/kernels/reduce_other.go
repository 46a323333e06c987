//go:build !amd64 || purego

package kernels

// No assembly here: the portable loops of reduce.go do all the work.

func sumLanesFast[T Float](x []T, acc *[Lanes]float64) int { return 0 }

func sumRunsFast[T Float](x []T, rs, n int, acc [][Lanes]float64) int { return 0 }

func sumSqDevFast[T Float](x []T, c float64, acc *[Lanes]float64) int { return 0 }

func accumSqDevFast[T Float](acc []float64, x []T, c []float64) int { return 0 }

func extremeFast[T Float](x []T, isMax bool) (m T, n int, nan bool) { return 0, 0, false }

func extremeColFast[T Float](acc, x []T, isMax bool) int { return 0 }
