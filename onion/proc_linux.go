package onion

import "syscall"

// sysProcAttr makes the kernel stop tor if we die before TAKEOWNERSHIP
// takes effect (a backstop; the owning control connection is the main
// mechanism).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
