package onion

import (
	"context"
	"net"
	"os"
	"os/exec"
	"syscall"

	"github.com/cretz/bine/process"
)

// torProcess runs tor with its output in a log file and lets any number of
// callers wait for its exit (bine's Close waits once, for 300 ms; Close here
// waits again, for as long as it takes).
type torProcess struct {
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error // set before done is closed
}

// creator is a bine process.Creator that starts exe with tor's stdout and
// stderr appended to logPath.
type creator struct {
	exe     string
	logPath string
}

func (c creator) New(ctx context.Context, args ...string) (process.Process, error) {
	out, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.exe, args...)
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	p := &torProcess{cmd: cmd, out: out, done: make(chan struct{})}
	// bine cancels ctx when it gives up on tor (failed start, Close without
	// a control connection): stop tor then.
	go func() {
		select {
		case <-ctx.Done():
			p.signal(syscall.SIGTERM)
		case <-p.done:
		}
	}()
	return p, nil
}

func (p *torProcess) Start() error {
	if err := p.cmd.Start(); err != nil {
		p.out.Close()
		p.err = err
		close(p.done)
		return err
	}
	go func() {
		p.err = p.cmd.Wait()
		p.out.Close()
		close(p.done)
	}()
	return nil
}

func (p *torProcess) Wait() error {
	<-p.done
	return p.err
}

func (p *torProcess) EmbeddedControlConn() (net.Conn, error) {
	return nil, process.ErrControlConnUnsupported
}

// signal sends sig to tor if it is still running.
func (p *torProcess) signal(sig os.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

// exited reports whether tor has exited.
func (p *torProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
