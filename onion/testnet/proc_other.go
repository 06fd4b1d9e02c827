//go:build !linux

package testnet

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
