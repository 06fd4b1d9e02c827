//go:build unix && !linux

package browsertest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// Without /proc the process group is all we can reach.
func descendants(int) []int        { return nil }
func procsMentioning(string) []int { return nil }
func alive(pids []int) []int       { return nil }
