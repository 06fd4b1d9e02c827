package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendReopenVerify(t *testing.T) {
	dir := makeLog(t, 5)
	if n, err := Verify(dir); err != nil || n != 5 {
		t.Fatalf("Verify after 5 = %d, %v", n, err)
	}
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 5; i < 8; i++ {
		e, err := l.Append(Entry{Seq: 99, Day: "1999-01-01", Actor: sample(i).Actor, Action: sample(i).Action, Case: sample(i).Case, Detail: sample(i).Detail})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) || e.Day != testDay {
			t.Errorf("Append gave seq %d day %s, want %d %s", e.Seq, e.Day, i+1, testDay)
		}
	}
	if n, err := Verify(dir); err != nil || n != 8 {
		t.Fatalf("Verify after 8 = %d, %v", n, err)
	}
	all, err := l.Entries(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 8 {
		t.Fatalf("Entries gave %d, want 8", len(all))
	}
	for i, e := range all {
		want := sample(7 - i)
		want.Seq, want.Day = int64(8-i), testDay
		if e != want {
			t.Errorf("Entries[%d] = %+v, want %+v", i, e, want)
		}
	}
}

func TestEntries(t *testing.T) {
	dir := makeLog(t, 7)
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	caseIs := func(c string) func(Entry) bool { return func(e Entry) bool { return e.Case == c } }
	tests := []struct {
		name   string
		filter func(Entry) bool
		limit  int
		want   []int64
	}{
		{"all", nil, 0, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"negative limit means all", nil, -1, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"limit 1", nil, 1, []int64{7}},
		{"limit 3", nil, 3, []int64{7, 6, 5}},
		{"limit above count", nil, 100, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"by case", caseIs("CD-7QK2-M4XD"), 0, []int64{6, 4, 3}},
		{"by case limited", caseIs("CD-7QK2-M4XD"), 2, []int64{6, 4}},
		{"by actor", func(e Entry) bool { return e.Actor == "admin" }, 0, []int64{7, 1}},
		{"none match", caseIs("CD-0000-0000"), 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Entries(tt.filter, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tt.want) {
				t.Errorf("got seqs %v, want %v", seqs, tt.want)
			}
		})
	}

	t.Run("detects tampering after open", func(t *testing.T) {
		lines := readLines(t, dir)
		writeLines(t, dir, append(lines[:2:2], lines[3:]...))
		_, err := l.Entries(nil, 0)
		wantBroken(t, err, 3, "seq 4 where 3 expected")
	})
}

func TestAppendRejects(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		msg  string
	}{
		{"no actor", Entry{Action: "login"}, "no actor"},
		{"no action", Entry{Actor: "a"}, "no action"},
		{"upper-case action", Entry{Actor: "a", Action: "Login"}, "action"},
		{"space in action", Entry{Actor: "a", Action: "log in"}, "action"},
		{"newline in actor", Entry{Actor: "a\nb", Action: "login"}, "actor"},
		{"invalid UTF-8 actor", Entry{Actor: "a\xff", Action: "login"}, "actor"},
		{"long actor", Entry{Actor: strings.Repeat("a", MaxActor+1), Action: "login"}, "actor longer"},
		{"bad case", Entry{Actor: "a", Action: "case.view", Case: "CD 1"}, "case"},
		{"long case", Entry{Actor: "a", Action: "case.view", Case: strings.Repeat("C", MaxCase+1)}, "case longer"},
		{"control in detail", Entry{Actor: "a", Action: "x", Detail: "a\x00b"}, "detail"},
		{"line separator in detail", Entry{Actor: "a", Action: "x", Detail: "a\u2028b"}, "detail"},
		{"long detail", Entry{Actor: "a", Action: "x", Detail: strings.Repeat("d", MaxDetail+1)}, "detail longer"},
	}
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Append(tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Append = %v, want error containing %q", err, tt.msg)
			}
		})
	}
	if n, err := Verify(dir); err != nil || n != 0 {
		t.Errorf("Verify after rejected appends = %d, %v, want 0, nil", n, err)
	}
	if e, err := l.Append(Entry{Actor: "a", Action: "login"}); err != nil || e.Seq != 1 {
		t.Errorf("Append after rejects = %+v, %v, want seq 1", e, err)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const workers, each = 8, 20
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := l.Append(Entry{Actor: fmt.Sprintf("officer %d", w), Action: "case.view", Detail: fmt.Sprint(i)}); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if _, err := l.Entries(nil, 3); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	all, err := l.Entries(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != workers*each {
		t.Fatalf("got %d entries, want %d", len(all), workers*each)
	}
	perActor := map[string]int{}
	for i, e := range all {
		if want := int64(workers*each - i); e.Seq != want {
			t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, want)
		}
		perActor[e.Actor]++
	}
	for w := range workers {
		if got := perActor[fmt.Sprintf("officer %d", w)]; got != each {
			t.Errorf("officer %d has %d entries, want %d", w, got, each)
		}
	}
	if n, err := Verify(dir); err != nil || n != workers*each {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := filepath.Join(makeLog(t, 2), "new")
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(sample(0)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for name, want := range map[string]fs.FileMode{".": fs.ModeDir | 0o700, logName: 0o600, keyName: 0o600, headName: 0o600} {
		t.Run(name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("mode %v, want %v", fi.Mode(), want)
			}
		})
	}
	t.Run("key is 32 bytes", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, keyName))
		if err != nil || len(b) != 32 {
			t.Errorf("key: %d bytes, %v", len(b), err)
		}
	})
	t.Run("no temporary files left", func(t *testing.T) {
		names, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
		if len(names) != 0 {
			t.Errorf("left %v", names)
		}
	})
}

func TestDaysOnly(t *testing.T) {
	dir := makeLog(t, 3)
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), `"day":"`+testDay+`"`); got != 3 {
		t.Errorf("%d lines with day %s (the UTC day), want 3:\n%s", got, testDay, b)
	}
	midnight, _ := time.Parse(time.DateOnly, testDay)
	for _, p := range []string{filepath.Join(dir, logName), filepath.Join(dir, headName), dir} {
		if st, err := os.Stat(p); err != nil || !st.ModTime().Equal(midnight) {
			t.Errorf("%s: modified %v, want the day %s", p, st.ModTime().UTC(), testDay)
		}
	}
	for _, s := range []string{"2025-03-04", "T0", ":00", "Z\""} {
		if strings.Contains(string(b), s) {
			t.Errorf("log contains %q, finer than a UTC day:\n%s", s, b)
		}
	}
}

func TestOpenTwice(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := makeLog(t, 1)
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l2, err := Open(dir, testNow); err == nil {
		l2.Close()
		t.Fatal("second Open of one log succeeded")
	} else if !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Open: %v", err)
	}
}

func TestClosed(t *testing.T) {
	l, err := Open(t.TempDir(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := l.Append(sample(0)); err == nil {
		t.Error("Append after Close succeeded")
	}
	if _, err := l.Entries(nil, 0); err == nil {
		t.Error("Entries after Close succeeded")
	}
}

func TestFreshAndInterrupted(t *testing.T) {
	t.Run("no log at all", func(t *testing.T) {
		_, err := Verify(t.TempDir())
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrBroken) {
			t.Errorf("Verify of empty dir = %v, want not-exist", err)
		}
	})
	t.Run("new empty log", func(t *testing.T) {
		dir := makeLog(t, 0)
		if n, err := Verify(dir); err != nil || n != 0 {
			t.Errorf("Verify = %d, %v", n, err)
		}
	})
	t.Run("crash before the key was written", func(t *testing.T) {
		dir := makeLog(t, 0)
		os.Remove(filepath.Join(dir, keyName))
		if n, err := Verify(dir); err != nil || n != 0 {
			t.Errorf("Verify = %d, %v", n, err)
		}
		l, err := Open(dir, testNow)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := l.Append(sample(0)); err != nil {
			t.Fatal(err)
		}
		if n, err := Verify(dir); err != nil || n != 1 {
			t.Errorf("Verify = %d, %v", n, err)
		}
	})
	t.Run("crash before the head was written", func(t *testing.T) {
		dir := makeLog(t, 3)
		old, err := os.ReadFile(filepath.Join(dir, headName))
		if err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(sample(3)); err != nil {
			t.Fatal(err)
		}
		l.Close()
		// Put back the head from before the append, as if the process
		// died between syncing the line and replacing the head.
		if err := os.WriteFile(filepath.Join(dir, headName), old, 0o600); err != nil {
			t.Fatal(err)
		}
		if n, err := Verify(dir); err != nil || n != 4 {
			t.Fatalf("Verify = %d, %v, want 4", n, err)
		}
		l, err = Open(dir, testNow)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		// Open brought the head up to date: entry 4 is now protected.
		lines := readLines(t, dir)
		writeLines(t, dir, lines[:3])
		_, err = Verify(dir)
		wantBroken(t, err, 0, "log truncated after entry 3 (head says 4)")
	})
}

// TestVerifyWhileAppending runs Verify, as the CLI would, while a server
// appends.
func TestVerifyWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if _, err := l.Append(sample(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var last int64
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		n, err := Verify(dir)
		if err != nil {
			t.Fatalf("Verify while appending: %v", err)
		}
		if n < last {
			t.Fatalf("Verify counted %d after %d", n, last)
		}
		last = n
	}
	if n, err := Verify(dir); err != nil || n != 200 {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

// TestCaseEntries: on a log of many entries, CaseEntries gives what
// Entries gives for one case (newest first, filtered, limited), before and
// after the log is opened again; and it reads only that case's lines: a
// damaged line of another case, which Entries refuses, does not stop it.
func TestCaseEntries(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	const n, cases = 1000, 20 // each append syncs: more takes long on a busy disk
	ref := func(i int) string { return fmt.Sprintf("CD-%04d-TEST", i%cases) }
	count := map[string]int{}
	for i := range n {
		e := Entry{Actor: "o", Action: "case.view", Detail: fmt.Sprintf("n %d", i)}
		if i%7 == 0 {
			e.Action = "identity.opened"
		}
		if i%3 != 0 { // every third entry names no case
			e.Case = ref(i)
			count[e.Case]++
		}
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	check := func(l *Log) {
		t.Helper()
		for _, c := range []string{ref(1), ref(7), ref(19)} {
			for _, limit := range []int{0, 1, 3} {
				opened := func(e Entry) bool { return e.Action == "identity.opened" }
				want, err := l.Entries(func(e Entry) bool { return e.Case == c && opened(e) }, limit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := l.CaseEntries(c, opened, limit)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
					t.Fatalf("CaseEntries(%s, limit %d) = %d entries, %v; Entries gives %d", c, limit, len(got), err, len(want))
				}
			}
			all, err := l.CaseEntries(c, nil, 0)
			if err != nil || len(all) != count[c] || count[c] == 0 {
				t.Fatalf("CaseEntries(%s) = %d entries, %v; want %d", c, len(all), err, count[c])
			}
		}
		if es, err := l.CaseEntries("CD-NONE-XXXX", nil, 0); err != nil || len(es) != 0 {
			t.Fatalf("a case without entries: %v, %v", es, err)
		}
	}
	check(l)
	l.Close()
	if l, err = Open(dir, testNow); err != nil {
		t.Fatal(err)
	}
	check(l) // the index is rebuilt from the file
	l.Close()

	// Damage one line of case 2 (same length, so no offset moves), with
	// the log open: Entries refuses the log, CaseEntries of case 1 still
	// answers, CaseEntries of case 2 refuses.
	if l, err = Open(dir, testNow); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := filepath.Join(dir, logName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	target := []byte(`"detail":"n 2"`)
	i := strings.Index(string(b), string(target))
	if i < 0 {
		t.Fatal("entry n 2 not found")
	}
	b[i+len(target)-1] = '9'
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Entries(nil, 0); !errors.Is(err, ErrBroken) {
		t.Fatalf("Entries of the damaged log: %v", err)
	}
	if es, err := l.CaseEntries(ref(1), nil, 0); err != nil || len(es) == 0 {
		t.Fatalf("CaseEntries of an undamaged case: %d entries, %v", len(es), err)
	}
	if _, err := l.CaseEntries(ref(2), nil, 0); !errors.Is(err, ErrBroken) {
		t.Fatalf("CaseEntries of the damaged case: %v", err)
	}
}
