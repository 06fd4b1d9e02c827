package testnet

import "syscall"

// sysProcAttr kills a tor when the process that started it dies, whatever
// the test did.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
