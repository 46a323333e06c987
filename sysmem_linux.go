package backprop

import "syscall"

// systemMemory is the machine's memory and swap in bytes (0 if unknown):
// a tensor larger than that cannot be allocated.
func systemMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	unit := uint64(si.Unit)
	if unit == 0 {
		unit = 1
	}
	return (uint64(si.Totalram) + uint64(si.Totalswap)) * unit
}
