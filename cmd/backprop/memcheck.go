package main

import (
	"bufio"
	"fmt"
	"math"
	"math/bits"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// bytesFor multiplies counts and a size in bytes, reporting false when the
// product does not fit in a uint64 (a hostile --m 1e18, say).
func bytesFor(factors ...uint64) (uint64, bool) {
	p := uint64(1)
	for _, f := range factors {
		hi, lo := bits.Mul64(p, f)
		if hi != 0 {
			return 0, false
		}
		p = lo
	}
	return p, true
}

// sumBytes adds byte counts, reporting false on overflow.
func sumBytes(terms ...uint64) (uint64, bool) {
	var s uint64
	for _, t := range terms {
		var c uint64
		if s, c = bits.Add64(s, t, 0); c != 0 {
			return 0, false
		}
	}
	return s, true
}

// checkMemory refuses a job that needs more memory than this machine can
// give: better one line now than "fatal error: runtime: out of memory" and
// pages of goroutine stacks later. The limit is the least of the memory
// the kernel reports available, the cgroup's limit (a container) and the
// Go runtime's own (GOMEMLIMIT); where none can be read, only sizes past
// the address space are refused.
func checkMemory(what string, need uint64, ok bool) error {
	if !ok || need > math.MaxInt64 {
		return fmt.Errorf("%s would need more memory than a 64-bit machine can address", what)
	}
	limit, from := availableMemory()
	if limit > 0 && need > limit {
		return fmt.Errorf("%s needs %s of memory, more than the %s %s; choose smaller sizes", what, human(need), human(limit), from)
	}
	return nil
}

// availableMemory returns the memory a job may still take and where that
// figure comes from, or 0 when it is unknown.
func availableMemory() (uint64, string) {
	var limit uint64
	var from string
	take := func(v uint64, src string) {
		if v > 0 && (limit == 0 || v < limit) {
			limit, from = v, src
		}
	}
	if v, ok := meminfo("MemAvailable"); ok {
		take(v, "available on this machine")
	}
	if max, ok := readUint("/sys/fs/cgroup/memory.max"); ok {
		cur, _ := readUint("/sys/fs/cgroup/memory.current")
		if max > cur {
			take(max-cur, "left under this container's memory limit")
		}
	}
	if gl := debug.SetMemoryLimit(-1); gl > 0 && gl < math.MaxInt64 {
		take(uint64(gl), "of the Go memory limit (GOMEMLIMIT)")
	}
	return limit, from
}

// meminfo reads a field of /proc/meminfo, in bytes.
func meminfo(field string) (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil || kb > math.MaxUint64/1024 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// readUint reads a file holding one decimal number ("max" is not one).
func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// human writes a byte count with a binary unit.
func human(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	v, i := float64(b)/unit, 0
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}
