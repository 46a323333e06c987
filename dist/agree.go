package dist

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Agree checks that every rank passes the same desc (a description of
// something they must share, line by line: "the model", "the settings").
// When they do not, it returns an error on every rank, so that all of
// them stop rather than some waiting forever: a rank that differs from
// rank 0 names the first line where it does, the others name the ranks
// that differ.
func Agree(c Comm, what, desc string) error {
	n, me := c.Size(), c.Rank()
	if n == 1 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(desc))
	sum := h.Sum64()
	// Every rank's hash, gathered by a sum of vectors that are zero but
	// for the rank's own slots; halves of 32 bits are exact in float64.
	all := make([]float64, 2*n)
	all[2*me], all[2*me+1] = float64(sum>>32), float64(sum&0xffffffff)
	if err := c.AllreduceFloat64(all); err != nil {
		return fmt.Errorf("dist: comparing %s across ranks: %w", what, err)
	}
	var differ []int
	for r := 1; r < n; r++ {
		if all[2*r] != all[0] || all[2*r+1] != all[1] {
			differ = append(differ, r)
		}
	}
	if len(differ) == 0 {
		return nil
	}
	// Rank 0's description, so that a differing rank can say how it
	// differs: its length, then its bytes.
	size := []float64{float64(len(desc))}
	if err := c.BroadcastFloat64(size, 0); err != nil {
		return fmt.Errorf("dist: ranks %v disagree with rank 0 on %s", differ, what)
	}
	ref := make([]byte, int(size[0]))
	if me == 0 {
		copy(ref, desc)
	}
	if err := c.BroadcastBytes(ref, 0); err != nil {
		return fmt.Errorf("dist: ranks %v disagree with rank 0 on %s", differ, what)
	}
	if string(ref) == desc {
		return fmt.Errorf("dist: rank %d of %d: ranks %s disagree with rank 0 on %s (see their messages)", me, n, joinInts(differ), what)
	}
	theirs, mine := strings.Split(string(ref), "\n"), strings.Split(desc, "\n")
	for i := range max(len(theirs), len(mine)) {
		a, b := lineAt(theirs, i), lineAt(mine, i)
		if a != b {
			return fmt.Errorf("dist: rank %d of %d disagrees with rank 0 on %s: rank 0 has [%s] where rank %d has [%s]", me, n, what, a, me, b)
		}
	}
	return fmt.Errorf("dist: rank %d of %d disagrees with rank 0 on %s", me, n, what)
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "nothing"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
