//go:build !linux

package onion

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
