package browsertest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts chromium in its own process group, so the whole group
// can be killed, and has the kernel kill it if the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

type procInfo struct {
	pid, ppid int
	cmdline   []byte
}

func procs() []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces; fields follow the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, procInfo{pid: pid, ppid: ppid, cmdline: cmd})
	}
	return out
}

// descendants lists the live processes below pid.
func descendants(pid int) []int {
	children := make(map[int][]int)
	for _, p := range procs() {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// procsMentioning lists live processes with s in their command line.
// chromium's crash handler forks itself away from the process tree, but
// its command line names a directory inside the profile.
func procsMentioning(s string) []int {
	var out []int
	for _, p := range procs() {
		if bytes.Contains(p.cmdline, []byte(s)) {
			out = append(out, p.pid)
		}
	}
	return out
}

// alive returns the pids that still run (zombies count as gone).
func alive(pids []int) []int {
	live := make(map[int]bool)
	for _, p := range procs() {
		live[p.pid] = true
	}
	var out []int
	for _, p := range pids {
		if live[p] {
			out = append(out, p)
		}
	}
	return out
}
