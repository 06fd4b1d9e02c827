package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backupServer serves the control API with bk as its backup, on a socket.
func backupServer(t *testing.T, bk Backup) *Client {
	t.Helper()
	_, _, st, _ := serve(t)
	ops, au := newOps(t, st)
	dir, err := os.MkdirTemp("", "cdbk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "control.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: Handler(st, ops, au, nil, bk, nil), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return NewClient(sock)
}

func TestBackupRoute(t *testing.T) {
	t.Run("streamed", func(t *testing.T) {
		c := backupServer(t, func(w io.Writer) error {
			_, err := io.WriteString(w, strings.Repeat("sealed", 100000))
			return err
		})
		var got bytes.Buffer
		if err := c.Backup(&got); err != nil || got.Len() != 600000 {
			t.Fatalf("Backup: %d bytes, %v", got.Len(), err)
		}
	})
	t.Run("no key", func(t *testing.T) {
		c := backupServer(t, func(io.Writer) error { return ErrNoBackupKey })
		var ce *Error
		if err := c.Backup(io.Discard); !errors.As(err, &ce) || ce.Status != http.StatusConflict || !strings.Contains(ce.Hint, "backup_recipients") {
			t.Fatalf("Backup without a key: %v", err)
		}
	})
	t.Run("shared stores", func(t *testing.T) {
		c := backupServer(t, func(io.Writer) error { return fmt.Errorf("%w: detail", ErrStoreBackup) })
		var ce *Error
		if err := c.Backup(io.Discard); !errors.As(err, &ce) || ce.Status != http.StatusConflict || !strings.Contains(ce.Hint, "pg_dump") {
			t.Fatalf("Backup of a front-end of shared stores: %v", err)
		}
	})
	t.Run("cut midway", func(t *testing.T) {
		c := backupServer(t, func(w io.Writer) error {
			io.WriteString(w, strings.Repeat("sealed", 100000))
			return errors.New("disk gone")
		})
		if err := c.Backup(io.Discard); err == nil {
			t.Fatal("a backup that failed midway arrived whole")
		}
	})
	t.Run("failed at once", func(t *testing.T) {
		c := backupServer(t, func(io.Writer) error { return errors.New("secret detail") })
		err := c.Backup(io.Discard)
		if statusOf(err) != http.StatusInternalServerError || strings.Contains(err.Error(), "secret detail") {
			t.Fatalf("Backup failing at once: %v", err)
		}
	})
}
