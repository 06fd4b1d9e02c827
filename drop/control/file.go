package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"cleandrop/drop/casework"
)

// An export to a file does not stream the bundle over the socket: the
// command opens its new file and hands the server the open descriptor
// (SCM_RIGHTS), and the server writes the bundle into it, so that the
// ciphertext is copied from the vault's files straight into the bundle.
//
// The exchange, on one connection:
//
//	client: POST /v1/cases/{ref}/export-file, Upgrade: cleandrop-file
//	server: an error answer (no such case, ...), or 101 Switching Protocols
//	client: one byte, with the descriptor attached
//	server: one fileResult, as JSON, then closes
//
// The descriptor must be of a regular file, empty. The server stops
// writing when the client hangs up.
const fileUpgrade = "cleandrop-file"

// fdWait bounds how long the server waits for the descriptor after its
// 101.
const fdWait = 30 * time.Second

// fileResult ends an export to a file: its size, or what went wrong.
type fileResult struct {
	Bytes  int64  `json:"bytes"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

func (a *api) exportFile(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != fileUpgrade {
		writeErr(w, http.StatusBadRequest, "this endpoint takes an open file", "use: cleandrop export --case REF -o FILE")
		return
	}
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		a.internal(w, "export", err)
		return
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return // the control API listens on a unix socket only
	}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + fileUpgrade + "\r\n\r\n")
	if brw.Flush() != nil || brw.Reader.Buffered() > 0 {
		return // bytes sent before the 101 would have dropped the descriptor
	}
	f, err := receiveFile(uc)
	if err != nil {
		a.fileAnswer(uc, fileResult{Status: http.StatusBadRequest, Error: err.Error(), Hint: "use: cleandrop export --case REF -o FILE"})
		return
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		// The client sends nothing more: a read ends when it hangs up, or
		// when this handler closes the connection.
		uc.Read(make([]byte, 1))
		cancel()
	}()
	if err := a.ops.Export(ctx, casework.Admin(), c, f); err != nil {
		res := fileResult{Status: http.StatusInternalServerError, Error: "export failed", Hint: "see the server's log"}
		if errors.Is(err, casework.ErrUnaudited) {
			res.Error = "audit failed"
		}
		if ctx.Err() == nil {
			a.log.Error("export failed", "err", err)
		}
		a.fileAnswer(uc, res)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		a.fileAnswer(uc, fileResult{Status: http.StatusInternalServerError, Error: "export failed", Hint: "see the server's log"})
		return
	}
	a.fileAnswer(uc, fileResult{Bytes: fi.Size()})
}

func (a *api) fileAnswer(conn net.Conn, res fileResult) {
	conn.SetWriteDeadline(time.Now().Add(fdWait))
	json.NewEncoder(conn).Encode(res)
}

// receiveFile reads one byte from conn carrying one descriptor, of an
// empty regular file open for writing.
func receiveFile(conn *net.UnixConn) (*os.File, error) {
	conn.SetReadDeadline(time.Now().Add(fdWait))
	defer conn.SetReadDeadline(time.Time{})
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, flags, _, err := conn.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return nil, fmt.Errorf("no file descriptor came: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("no file descriptor came: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 || flags&unix.MSG_CTRUNC != 0 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("one file descriptor must come with the request")
	}
	f := os.NewFile(uintptr(fds[0]), "bundle")
	fi, err := f.Stat()
	if err == nil && (!fi.Mode().IsRegular() || fi.Size() != 0) {
		err = errors.New("the bundle must go to a new, empty file")
	}
	if fl, ferr := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err == nil && (ferr != nil || fl&unix.O_ACCMODE == unix.O_RDONLY) {
		err = errors.New("the file must be open for writing")
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
