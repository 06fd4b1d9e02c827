package control

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cleandrop/vault/audit"
)

// newFile creates a new file open as flag asks.
func newFile(t *testing.T, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "case.tar"), flag|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The server writes the bundle into the file the client hands it: the
// same bytes as the bundle streamed over the socket, audited the same.
func TestExportFile(t *testing.T) {
	c, ref, st, _, au := serveAudited(t)
	b, err := st.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Add("attachment", "large.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, rand.Reader, 9<<20+7); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}

	var streamed bytes.Buffer
	if err := c.Export(ref, &streamed); err != nil {
		t.Fatal(err)
	}
	f := newFile(t, os.O_RDWR)
	if err := c.ExportFile(ref, f); err != nil {
		t.Fatalf("ExportFile: %v", err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Len() < 9<<20 || !bytes.Equal(got, streamed.Bytes()) {
		t.Errorf("the file holds %d bytes, not the %d streamed", len(got), streamed.Len())
	}
	es, err := au.Entries(func(e audit.Entry) bool { return e.Action == "export" && e.Case == ref }, 10)
	if err != nil || len(es) != 2 || es[0].Actor != "admin" {
		t.Errorf("audit entries of the two exports: %+v, %v", es, err)
	}
}

// What cannot become a bundle is refused with a reason and a hint, and
// the server keeps no descriptor it was handed.
func TestExportFileRefusals(t *testing.T) {
	c, ref, _, _ := serve(t)

	if err := c.ExportFile("CD-NONE-NONE", newFile(t, os.O_RDWR)); statusOf(err) != http.StatusNotFound {
		t.Errorf("unknown case: %v", err)
	}
	full := newFile(t, os.O_RDWR)
	full.WriteString("something")
	readOnly := newFile(t, os.O_RDWR)
	readOnly, _ = os.Open(readOnly.Name())
	t.Cleanup(func() { readOnly.Close() })
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		name string
		f    *os.File
		msg  string
	}{
		{"not empty", full, "new, empty file"},
		{"a pipe", pw, "new, empty file"},
		{"read-only", readOnly, "open for writing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.ExportFile(ref, tc.f)
			if statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), tc.msg) || hintOf(err) == "" {
				t.Errorf("ExportFile: %v (%q)", err, hintOf(err))
			}
		})
	}
	if fi, _ := full.Stat(); fi.Size() != int64(len("something")) {
		t.Errorf("the refused file was written to: %d bytes", fi.Size())
	}

	a, b := newFile(t, os.O_RDWR), newFile(t, os.O_RDWR)
	for _, tc := range []struct {
		name string
		fds  []int
	}{
		{"no descriptor", nil},
		{"two descriptors", []int{int(a.Fd()), int(b.Fd())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rawExportFile(t, c, ref, tc.fds)
			if res.Status != http.StatusBadRequest || !strings.Contains(res.Error, "one file descriptor") {
				t.Errorf("answer: %+v", res)
			}
		})
	}
	for _, f := range []*os.File{a, b} {
		if fi, _ := f.Stat(); fi.Size() != 0 {
			t.Errorf("%s was written to", f.Name())
		}
		if n := holders(f.Name()); n > 1 {
			t.Errorf("%s is open %d times: the server kept what it was handed", f.Name(), n)
		}
	}

	resp, err := c.do(http.MethodPost, casePath(ref)+"/export-file", "", nil)
	if statusOf(err) != http.StatusBadRequest || hintOf(err) == "" {
		t.Errorf("a plain request: %v, %v", resp, err)
	}
}

// rawExportFile goes through the exchange handing over fds, which may be
// none or several.
func rawExportFile(t *testing.T, c *Client, ref string, fds []int) fileResult {
	t.Helper()
	conn, br, err := c.startExportFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := conn.WriteMsgUnix([]byte{0}, oob, nil); err != nil {
		t.Fatal(err)
	}
	var res fileResult
	if err := json.NewDecoder(br).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// holders counts this process's descriptors open on path (0 where /proc
// is not). The server answers after it closes what it was handed.
func holders(path string) int {
	es, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range es {
		if p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && p == path {
			n++
		}
	}
	return n
}
