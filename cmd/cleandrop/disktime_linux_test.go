package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cleandrop/drop/strip/striptest"
)

// TestDiskTimesFollowSchedule runs the real server with a 2-second write
// interval, reports through its reporter interface half-way between two
// ticks — a text report, a report with a 1 MiB file, a follow-up login and
// an answer with a file — and has an administrator act (an audit entry)
// the same way. Then it stats every file and directory under the data
// directory (vault, audit log, signing key, control socket, demo keys) and
// checks that no modification, change, access or birth time lies nearer to any of
// those moments than half a tick, less a small allowance for the tick's own
// work.
func TestDiskTimesFollowSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for several ticks")
	}
	const (
		period = 2 * time.Second
		slack  = 300 * time.Millisecond
	)
	// The first start writes the demo configuration; the second runs with
	// the write interval set in it.
	s := startDemo(t)
	s.stop()
	cfgPath := filepath.Join(s.data, "demo", "config.json")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte(`"data_dir"`), []byte(`"write_interval": "2s", "data_dir"`), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, s.data, readyURL, "demo", "--data", s.data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor")
	time.Sleep(period) // what start-up wrote says when the server started

	var moments []time.Time
	act := func(name string, fn func()) {
		start := midTick(period)
		fn()
		t.Logf("%s: %s .. %s", name, start.Format("15:04:05.000"), time.Now().Format("15:04:05.000"))
		moments = append(moments, start)
	}
	r := newReporter(t, s.url)
	var rc string
	act("text report", func() { rc, _ = r.report("acc", "a report without files", nil) })
	act("report with a 1 MiB file and a docx", func() {
		file := make([]byte, 1<<20)
		rand.Read(file)
		r2 := newReporter(t, s.url)
		// The docx is cleaned through a spool in the data directory: an
		// unnamed file, which changes no directory's times.
		r2.report("acc", "a report with a file", []upload{{"ledger.pdf", bytes.NewReader(file)}, {"memo.docx", bytes.NewReader(striptest.DOCX())}})
	})
	act("follow-up login and answer", func() {
		resp, body := r.postForm("/followup", map[string]string{"receipt": rc})
		if resp.Request.URL.Path != "/case" {
			t.Fatalf("login did not open the case: %s\n%s", resp.Request.URL, body)
		}
		file := make([]byte, 300<<10)
		rand.Read(file)
		resp, body = r.postMultipart("/case/answer", [][2]string{{"message", "an answer"}}, []upload{{"scan.png", bytes.NewReader(file)}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answer: %d\n%s", resp.StatusCode, body)
		}
	})
	act("administrator adds an officer", func() { s.addOfficer(t, "acc", "olga") })
	time.Sleep(period + period/2)

	nearest := time.Duration(math.MaxInt64)
	var nearestAt string
	files, checked, noBtime := 0, 0, 0
	err = filepath.WalkDir(s.data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var sx unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_ALL, &sx); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return err
		}
		files++
		ts := func(x unix.StatxTimestamp) time.Time { return time.Unix(x.Sec, int64(x.Nsec)) }
		times := map[string]time.Time{"mtime": ts(sx.Mtime), "ctime": ts(sx.Ctime), "atime": ts(sx.Atime)}
		if sx.Mask&unix.STATX_BTIME != 0 {
			times["btime"] = ts(sx.Btime)
		} else {
			noBtime++
		}
		rel, _ := filepath.Rel(s.data, path)
		for kind, tm := range times {
			checked++
			for _, m := range moments {
				dist := tm.Sub(m).Abs()
				if dist < nearest {
					nearest, nearestAt = dist, kind+" of "+rel
				}
				if dist < period/2-slack {
					t.Errorf("%s of %s is %s, %v from the moment %s", kind, rel, tm.Format("15:04:05.000000"), dist, m.Format("15:04:05.000"))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if noBtime > 0 {
		t.Logf("birth times not checked for %d files: the file system does not report them", noBtime)
	}
	measured(t, "checked %d times of %d files and directories; nearest to a report: %v (%s); tick %v, allowed %v",
		checked, files, nearest, nearestAt, period, period/2-slack)
	if files < 20 {
		t.Fatalf("only %d files under the data directory", files)
	}
}

// midTick sleeps until half-way between two ticks of period and returns
// that moment.
func midTick(period time.Duration) time.Time {
	now := time.Now()
	next := now.Truncate(period).Add(period / 2)
	if !next.After(now.Add(10 * time.Millisecond)) {
		next = next.Add(period)
	}
	time.Sleep(time.Until(next))
	return time.Now()
}
