package backprop

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// systemMemory is the most memory this process could ever be given, in
// bytes (0 if unknown): the machine's memory and swap, or, in a container
// or a systemd slice whose cgroup has a memory limit, that limit and the
// swap. A tensor larger than that cannot be allocated; past a cgroup's
// limit, trying ends with the kernel's OOM killer, which kills without a
// message.
func systemMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	unit := uint64(si.Unit)
	if unit == 0 {
		unit = 1
	}
	ram, swap := uint64(si.Totalram)*unit, uint64(si.Totalswap)*unit
	if cg := cgroupMemoryLimit("/"); cg > 0 && cg < ram {
		ram = cg
	}
	return ram + swap
}

// cgroupMemoryLimit is the smallest memory limit on the path from this
// process's cgroup up to the root of its hierarchy (cgroup v2 memory.max,
// or v1 memory.limit_in_bytes), in bytes; 0 when there is none or it
// cannot be read. root is where the file system starts ("/"; a test gives
// a folder made to look like /proc and /sys).
func cgroupMemoryLimit(root string) uint64 {
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	var limit uint64
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// "ID:CONTROLLERS:PATH": v2 is "0::/path", v1 names its controllers.
		id, rest, ok1 := strings.Cut(sc.Text(), ":")
		ctrls, path, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 {
			continue
		}
		var base, file string
		switch {
		case id == "0" && ctrls == "":
			base, file = "sys/fs/cgroup", "memory.max"
		case hasController(ctrls, "memory"):
			base, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		if l := smallestOnPath(filepath.Join(root, base), path, file); l > 0 && (limit == 0 || l < limit) {
			limit = l
		}
	}
	return limit
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// smallestOnPath reads file in base/path and in each folder above it up to
// base, and returns the smallest limit found. Under a cgroup namespace, as
// in most containers, path does not exist below base (base is already the
// container's own cgroup), and only base's own file counts.
func smallestOnPath(base, path, file string) uint64 {
	var limit uint64
	dir := filepath.Join(base, filepath.Clean("/"+path))
	for {
		if l := readLimit(filepath.Join(dir, file)); l > 0 && (limit == 0 || l < limit) {
			limit = l
		}
		if dir == base || !strings.HasPrefix(dir, base) {
			return limit
		}
		dir = filepath.Dir(dir)
	}
}

// readLimit parses a cgroup limit file: a number of bytes, or "max" (v2)
// or a number near 2^63 (v1) for none, which read as 0.
func readLimit(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v >= 1<<62 {
		return 0
	}
	return v
}
