package vault_test

import (
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/storetest"

	"golang.org/x/sys/unix"
)

// fileTimes are the times the kernel keeps for one file or directory.
type fileTimes struct {
	path  string
	times map[string]time.Time // "mtime", "ctime", "btime" (when reported)
}

// statAll stats every file and directory under dir, dir included. btime
// reports whether the file system gives birth times.
func statAll(t *testing.T, dir string) (out []fileTimes, btime bool) {
	t.Helper()
	btime = true
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed while we walked
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
		ts := func(x unix.StatxTimestamp) time.Time { return time.Unix(x.Sec, int64(x.Nsec)) }
		ft := fileTimes{path: path, times: map[string]time.Time{"mtime": ts(sx.Mtime), "ctime": ts(sx.Ctime), "atime": ts(sx.Atime)}}
		if sx.Mask&unix.STATX_BTIME != 0 {
			ft.times["btime"] = ts(sx.Btime)
		} else {
			btime = false
		}
		out = append(out, ft)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, btime
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
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

// TestDiskTimesFollowSchedule submits reports half-way between two ticks —
// a text report, a report with a large attachment, an answer on an existing
// case with an audit entry — and then checks the mtime, ctime, atime and birth
// time of every file and directory under the data directory (the vault and
// an audit log beside it): none may lie nearer to a report than half a tick
// (less a small allowance for the tick's own work), and every time after
// the store opened must fall just after a tick.
func TestDiskTimesFollowSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for several ticks")
	}
	const (
		period = 2 * time.Second
		slack  = 300 * time.Millisecond // a tick's own work: commits, fsyncs, touches
		lag    = 20 * time.Millisecond  // the kernel's coarse file-time clock
	)
	data := t.TempDir()
	fx := storetest.NewFixture(t, openBadger) // for its agencies and identities
	opts := fx.Opts
	opts.Now = nil
	scheduled(&opts, period)
	s, err := vault.Open(filepath.Join(data, "vault"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	alog, err := audit.Open(filepath.Join(data, "audit"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alog.Close()
	wireAudit(s, alog)
	opened := time.Now()
	// What Open writes says when the server started, not when anyone
	// reported: the first report comes a tick and a half later.
	time.Sleep(period)

	var moments []time.Time
	report := func(name string, fn func()) {
		start := midTick(period)
		fn()
		end := time.Now()
		t.Logf("%s: %s .. %s", name, start.Format("15:04:05.000"), end.Format("15:04:05.000"))
		moments = append(moments, start)
	}
	var ref string
	report("text report", func() {
		acc, _ := storetest.NewAccess(t)
		b, err := s.NewCase("a1", acc)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Abort()
		storetest.Put(t, b, vault.KindReport, "", []byte("a text report"))
		ref = storetest.Commit(t, b)
	})
	report("report with a 1 MiB attachment", func() {
		acc, _ := storetest.NewAccess(t)
		b, err := s.NewCase("a1", acc)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Abort()
		storetest.Put(t, b, vault.KindReport, "", []byte("see the file"))
		storetest.Put(t, b, vault.KindAttachment, "ledger.pdf", randBytes(1<<20))
		storetest.Commit(t, b)
	})
	report("answer and audit entry", func() {
		b, err := s.Append(ref)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Abort()
		storetest.Put(t, b, vault.KindAnswer, "", []byte("an answer"))
		storetest.Put(t, b, vault.KindAttachment, "more.pdf", randBytes(200<<10))
		storetest.Commit(t, b)
		if _, err := alog.Append(audit.Entry{Actor: "officer", Action: "case.view", Case: ref}); err != nil {
			t.Fatal(err)
		}
	})
	// Let two more ticks pass, as an image taken a little later would.
	time.Sleep(period + period/2)

	files, btime := statAll(t, data)
	if !btime {
		t.Logf("birth times not checked: this file system does not report them (statx without STATX_BTIME)")
	}
	firstTick := opened.Truncate(period).Add(period)
	nearest := time.Duration(math.MaxInt64)
	var nearestAt string
	checked := 0
	for _, f := range files {
		for kind, ts := range f.times {
			checked++
			for _, m := range moments {
				d := ts.Sub(m).Abs()
				if d < nearest {
					nearest, nearestAt = d, kind+" of "+f.path
				}
				if d < period/2-slack {
					t.Errorf("%s of %s is %v, %v from the report at %v", kind, f.path, ts.Format("15:04:05.000000"), d, m.Format("15:04:05.000"))
				}
			}
			if ts.After(firstTick) {
				// The kernel stamps files with a clock that may lag a
				// few milliseconds: a tick's stamp can read just before it.
				off := ts.Sub(ts.Truncate(period))
				if off > period-lag {
					off -= period
				}
				if off > slack {
					t.Errorf("%s of %s is %v, %v after a tick", kind, f.path, ts.Format("15:04:05.000000"), off)
				}
			}
		}
	}
	measured(t, "checked %d times of %d files and directories; nearest to a report: %v (%s); tick %v, allowed %v",
		checked, len(files), nearest, nearestAt, period, period/2-slack)
}

// TestPackAtime checks that reading an item leaves the access time of
// its pack as the schedule set it.
func TestPackAtime(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	acc, _ := storetest.NewAccess(t)
	b, _ := f.Store.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindAttachment, "a", make([]byte, 1<<20))
	ref := storetest.Commit(t, b)
	files := storetest.StoredFiles(t, f.Dir)
	if len(files) != 1 {
		t.Fatalf("pack files in use: %v", files)
	}
	f.Store.Close()
	const period = 2 * time.Second
	s := openBadger(t, f.Dir, vault.Options{Agencies: f.Opts.Agencies, Now: f.Opts.Now, Tick: period})
	midTick(period) // no tick between the two looks
	before, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenItem(ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if at, was := atime(fi), atime(before); !at.IsZero() && !at.Equal(was) {
		t.Errorf("pack atime %v after reading, was %v", at.UTC(), was.UTC())
	}
}
