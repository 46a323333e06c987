package backprop

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot makes a folder that looks like / to cgroupMemoryLimit: files
// maps paths below it to contents.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, s := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCgroupMemoryLimit(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"v2 limit on the process's cgroup", map[string]string{
			"proc/self/cgroup":                        "0::/user.slice/job\n",
			"sys/fs/cgroup/user.slice/job/memory.max": "2147483648\n",
			"sys/fs/cgroup/user.slice/memory.max":     "max\n",
		}, 2 << 30},
		{"v2 limit on a parent, smaller", map[string]string{
			"proc/self/cgroup":                        "0::/user.slice/job\n",
			"sys/fs/cgroup/user.slice/job/memory.max": "8589934592\n",
			"sys/fs/cgroup/user.slice/memory.max":     "1073741824\n",
		}, 1 << 30},
		{"v2 no limit", map[string]string{
			"proc/self/cgroup":           "0::/a\n",
			"sys/fs/cgroup/a/memory.max": "max\n",
		}, 0},
		{"v2 in a namespace: the path is not below the mount", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "536870912\n",
		}, 512 << 20},
		{"v1 memory controller", map[string]string{
			"proc/self/cgroup": "5:cpu,cpuacct:/x\n4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "3221225472\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            "9223372036854771712\n",
		}, 3 << 30},
		{"v1 unlimited", map[string]string{
			"proc/self/cgroup": "4:memory:/process_api/d75\n",
			"sys/fs/cgroup/memory/process_api/d75/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0},
		{"unreadable values and no files", map[string]string{
			"proc/self/cgroup":           "garbage\n0::/a\n",
			"sys/fs/cgroup/a/memory.max": "lots\n",
		}, 0},
		{"no /proc", map[string]string{}, 0},
	}
	for _, c := range cases {
		if got := cgroupMemoryLimit(fakeRoot(t, c.files)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
