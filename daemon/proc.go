package daemon

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// procStat returns the state letter, parent pid and start time (clock ticks since boot)
// of pid from /proc/<pid>/stat (fields 3, 4 and 22), ok false if gone.
func procStat(pid int) (state byte, ppid int, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may contain spaces and parens
	if i < 0 || i+2 >= len(b) {
		return 0, 0, 0, false
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	p, err1 := strconv.Atoi(string(f[1]))
	st, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	return f[0][0], p, st, true
}

// procStart returns the start time of pid if it is alive (not a zombie).
func procStart(pid int) (uint64, bool) {
	st, _, start, ok := procStat(pid)
	return start, ok && st != 'Z' && st != 'X'
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return false
	}
	st, _, _, ok := procStat(pid)
	return ok && st != 'Z' && st != 'X'
}

// Children returns the live (non-zombie) direct children of pid, read from /proc.
func Children(pid int) []int {
	var out []int
	for _, p := range allPids() {
		if st, pp, _, ok := procStat(p); ok && pp == pid && st != 'Z' && st != 'X' {
			out = append(out, p)
		}
	}
	return out
}

// Descendants returns the live descendants of pid (children, grandchildren, ...).
func Descendants(pid int) []int {
	parent := map[int]int{}
	for _, p := range allPids() {
		if st, pp, _, ok := procStat(p); ok && st != 'Z' && st != 'X' {
			parent[p] = pp
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
			if _, known := parent[q]; !known {
				break
			}
		}
	}
	return out
}

func allPids() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]int, 0, len(names))
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}
