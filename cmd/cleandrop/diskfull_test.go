package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/backend/servers"

	"golang.org/x/sys/unix"
)

// smallDisk mounts a tmpfs of size MiB for one test, or skips the test
// when it cannot (mounting needs root; CI runs the tests as root).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs for a full disk needs root (CI runs the tests as root)")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(dir, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+"m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// freeMiB is the free space on the file system holding dir.
func freeMiB(t *testing.T, dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize) >> 20
}

// ballast fills dir's file system until about leave MiB are free and
// returns the file to remove to free the space again.
func ballast(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mib := make([]byte, 1<<20)
	for freeMiB(t, dir) > leave {
		if _, err := f.Write(mib); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// fill writes a file until the file system holding dir has no byte left.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "full")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// demoConfig changes the demo configuration in data (the server reads it
// at its next start).
func demoConfig(t *testing.T, data string, change func(map[string]any)) {
	t.Helper()
	path := filepath.Join(data, "demo", "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, _ = json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// zeros is n zero bytes, streamed.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestDiskFull runs the server on a 128 MiB tmpfs and fills it: an upload
// that does not fit is refused with its translated page (507) and leaves
// nothing; the earlier case still exports and opens; the server keeps
// serving (a small report fits in what is left); once the ballast is
// removed the same upload goes through; and the vault reopens with nothing
// orphan and the audit chain intact.
func TestDiskFull(t *testing.T) {
	disk := smallDisk(t, 128)
	data := filepath.Join(disk, "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}
	s := startServer(t, data, readyURL, args...)
	s.stop()
	demoConfig(t, data, func(m map[string]any) { m["min_free_mib"] = 0 }) // the floor is TestFreeSpaceFloor's
	s = startServer(t, data, readyURL, args...)
	r := newReporter(t, s.url)

	early := make([]byte, 2<<20)
	rcEarly, refEarly := r.report("acc", "an earlier report", []upload{{"early.bin", strings.NewReader(string(early))}})
	t.Logf("free after start and one report: %d MiB", freeMiB(t, disk))

	// The vault keeps 32 MiB for Badger (see vault.badgerReserve): 44
	// MiB free leave room for a small report, not for 64 MiB.
	ball := ballast(t, disk, 44)
	resp, body := newReporter(t, s.url).postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "too large for the disk"}},
		[]upload{{"big.bin", zeros(64 << 20)}})
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, "The drop has no room for this file now. Nothing of it was kept.") {
		t.Fatalf("upload on a full disk: status %d\n%s", resp.StatusCode, body)
	}
	if receiptRe.MatchString(body) {
		t.Fatal("a receipt for an upload that did not fit")
	}
	// The server keeps serving: a small report fits in what is left.
	if resp, _ := r.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("front page after the full disk: %d", resp.StatusCode)
	}
	rcSmall, refSmall := newReporter(t, s.url).report("acc", "a small report while the disk is nearly full", nil)
	// The earlier case is intact: it exports and opens.
	crashCheckOpen(t, s, refEarly, map[string]string{"001-report.txt": "an earlier report"})
	crashCheckOpen(t, s, refSmall, map[string]string{"001-report.txt": "a small report while the disk is nearly full"})

	// Not one byte left: what Badger does then. A small report's items
	// and records cannot be written; the server refuses it and lives on.
	full := fill(t, disk)
	// Each report either fits in space the files already hold (200: it
	// must then survive) or is refused with the page (507); the server
	// lives on either way.
	kept := map[string]string{}
	refused := 0
	for i := range 40 {
		text := fmt.Sprintf("report %d with no byte left: %s", i, strings.Repeat("x", 3000))
		resp, body := newReporter(t, s.url).postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", text}}, nil)
		switch m := receiptRe.FindStringSubmatch(body); {
		case resp.StatusCode == http.StatusOK && m != nil:
			kept[m[1]] = refRe.FindString(body)
		case resp.StatusCode == http.StatusInsufficientStorage && strings.Contains(body, "The drop has no room for this file now."):
			refused++
		default:
			t.Fatalf("report %d on a disk with no byte left: status %d\n%s", i, resp.StatusCode, body)
		}
	}
	t.Logf("on a disk with no byte left: %d small reports kept, %d refused", len(kept), refused)
	// Officers' changes write only to Badger, which must not meet the
	// full disk (its mapped files turn that into SIGBUS): refused too.
	for i := range 20 {
		if _, _, code := runCLI(t, "stage", "--case", refEarly, "--data", data, []string{"acknowledged", "review"}[i%2]); code == 0 {
			t.Errorf("stage change %d on a disk with no byte left succeeded", i)
		}
	}
	select {
	case <-s.done:
		t.Fatalf("the server died on a full disk:\n%s", s.stderr)
	default:
	}
	// Badger cannot open on a full tmpfs (it maps a new write-ahead file
	// and reads it: SIGBUS). The server says so and exits; once space is
	// freed it starts and serves what it holds.
	s.stop()
	_, errOut, code := runCLI(t, args...)
	if code != 1 || !strings.Contains(errOut, "cleandrop: error:") || !strings.Contains(errOut, "no space left") || strings.Contains(errOut, "SIGBUS") {
		t.Errorf("start on a full disk: exit %d, want 1 with the reason\n%s", code, errOut[:min(len(errOut), 2000)])
	}
	for _, p := range []string{full, ball} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	s = startServer(t, data, readyURL, args...)
	if _, body, err := newCrashClient(s.url).login(rcEarly); err != nil || !strings.Contains(body, refEarly) {
		t.Errorf("the earlier receipt does not log in after the restart: %v", err)
	}
	// Badger is still usable: a small report commits again.
	newReporter(t, s.url).report("acc", "after the disk was freed", nil)
	_, refBig := newReporter(t, s.url).report("acc", "fits now", []upload{{"big.bin", zeros(64 << 20)}})
	crashCheckOpen(t, s, refBig, map[string]string{"001-report.txt": "fits now"})

	s.stop()
	a, err := vault.Account(filepath.Join(data, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Orphan != 0 || a.OrphanFiles != 0 || a.Missing != 0 {
		t.Errorf("vault accounting after the full disk: %+v", a)
	}
	s = startServer(t, data, readyURL, args...)
	kept[rcEarly], kept[rcSmall] = refEarly, refSmall
	for rc, ref := range kept {
		if _, body, err := newCrashClient(s.url).login(rc); err != nil || !strings.Contains(body, ref) {
			t.Errorf("the receipt of %s does not log in after the restart: %v", ref, err)
		}
	}
	if out, errOut, code := runCLI(t, "audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", code, out, errOut)
	}
}

// crashCheckOpen exports case ref, opens it with the officer's key and
// compares the given files of the opened case.
func crashCheckOpen(t *testing.T, s *server, ref string, want map[string]string) {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)
	out := filepath.Join(t.TempDir(), "opened")
	if o, e, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out); code != 0 {
		t.Fatalf("open %s: exit %d\n%s%s", ref, code, o, e)
	}
	for name, text := range want {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != text {
			t.Errorf("case %s: %s is %q, %v; want %q", ref, name, b, err, text)
		}
	}
}

// TestFreeSpaceFloor runs the server on a 128 MiB tmpfs with min_free_mib
// 64: below the floor a report is refused at once with its own page (507);
// an upload that crosses the floor while it streams is cut with that page
// and leaves nothing; a small report goes through again once space is back
// above the floor, and so does the large upload once the ballast is gone.
func TestFreeSpaceFloor(t *testing.T) {
	disk := smallDisk(t, 128)
	data := filepath.Join(disk, "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}
	s := startServer(t, data, readyURL, args...)
	s.stop()
	demoConfig(t, data, func(m map[string]any) { m["min_free_mib"] = 64 })
	s = startServer(t, data, readyURL, args...)
	_, refEarly := newReporter(t, s.url).report("acc", "an earlier report", nil)
	const low = "The drop is running low on space and is not taking new files now. Nothing was kept."

	ball := ballast(t, disk, 60)
	resp, body := newReporter(t, s.url).postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "below the floor"}}, nil)
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, low) {
		t.Fatalf("report below the floor: status %d\n%s", resp.StatusCode, body)
	}
	if err := os.Remove(ball); err != nil {
		t.Fatal(err)
	}

	ball = ballast(t, disk, 96)
	resp, body = newReporter(t, s.url).postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "crosses the floor"}},
		[]upload{{"big.bin", zeros(48 << 20)}})
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, low) {
		t.Fatalf("upload crossing the floor: status %d\n%s", resp.StatusCode, body)
	}
	if f := freeMiB(t, disk); f < 90 {
		t.Errorf("%d MiB free after the cut upload: it left its bytes", f)
	}
	// A PDF is spooled to be cleaned before the vault sees a byte of it:
	// the floor holds there too, before the spool fills the disk (which
	// was answered "the form could not be read").
	resp, body = newReporter(t, s.url).postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "a large PDF"}},
		[]upload{{"minutes.pdf", io.MultiReader(strings.NewReader("%PDF-1.4\n"), zeros(100<<20))}})
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, low) {
		t.Fatalf("a PDF spooled across the floor: status %d\n%s", resp.StatusCode, body)
	}
	if f := freeMiB(t, disk); f < 90 {
		t.Errorf("%d MiB free after the cut spool: it left its bytes", f)
	}
	newReporter(t, s.url).report("acc", "a small report above the floor", nil)
	if err := os.Remove(ball); err != nil {
		t.Fatal(err)
	}
	_, refBig := newReporter(t, s.url).report("acc", "fits now", []upload{{"big.bin", zeros(48 << 20)}})
	crashCheckOpen(t, s, refEarly, map[string]string{"001-report.txt": "an earlier report"})
	crashCheckOpen(t, s, refBig, map[string]string{"001-report.txt": "fits now"})
}

// TestDiskFullPostgresS3 is TestDiskFull with the vault in PostgreSQL and
// an object store (SeaweedFS) whose disk is a 256 MiB tmpfs, filled by a
// ballast file. SeaweedFS answers a write it has no room for with a plain
// 500, so the drop cannot tell a full store from a failing one: an upload
// it cannot store is refused with the translated page of a storage
// failure (503) and leaves nothing, in the report form and in an answer.
// The earlier case still exports and opens; the server keeps serving (a
// small report's items live in PostgreSQL); once the ballast is removed
// the same upload goes through; and no object or unfinished upload is left
// without its record.
func TestDiskFullPostgresS3(t *testing.T) {
	if testing.Short() {
		t.Skip("fills an object store")
	}
	disk := smallDisk(t, 256)
	weedDir := filepath.Join(disk, "weed")
	if err := os.Mkdir(weedDir, 0o700); err != nil {
		t.Fatal(err)
	}
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFSIn(t, weedDir)
	store := writeStoreConfig(t, StoreConfig{Postgres: pg.NewDatabase(t), SweepAfter: "3s",
		S3: &S3Config{Endpoint: weed.Endpoint, Bucket: weed.NewBucket(t)}})
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor", "--store", store}
	s := startServer(t, data, readyURL, args...)
	r := newReporter(t, s.url)
	rcEarly, refEarly := r.report("acc", "an earlier report", []upload{{"early.bin", zeros(2 << 20)}})

	ball := ballast(t, disk, 8)
	t.Logf("object store's disk: %d MiB free", freeMiB(t, disk))
	pages := map[string]string{
		"en": "The drop cannot store anything at the moment. Nothing of this was kept. Please try again later.",
		"sq": "Tani këtu nuk mund të ruhet asgjë. Asgjë prej kësaj nuk u ruajt.",
	}
	for lang, want := range pages {
		start := time.Now()
		resp, body := newReporter(t, s.url).postMultipart("/report?lang="+lang, [][2]string{{"agency", "acc"}, {"message", "too large for the store"}},
			[]upload{{"big.bin", zeros(64 << 20)}})
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, want) || receiptRe.MatchString(body) {
			t.Fatalf("%s: upload to a full object store: status %d\n%s", lang, resp.StatusCode, body)
		}
		measured(t, "a 64 MiB report refused by a full object store in %v", time.Since(start).Round(time.Millisecond))
	}
	// An answer with a large file: the same page, in the case.
	if resp, body := r.postForm("/followup", map[string]string{"receipt": rcEarly}); resp.Request.URL.Path != "/case" {
		t.Fatalf("login: %s\n%s", resp.Request.URL, body)
	}
	resp, body := r.postMultipart("/case/answer", [][2]string{{"message", "a large answer"}}, []upload{{"scan.bin", zeros(64 << 20)}})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, pages["en"]) {
		t.Fatalf("answer to a full object store: status %d\n%s", resp.StatusCode, body)
	}
	// The server keeps serving: a small report's items are records.
	if resp, _ := r.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("front page with a full object store: %d", resp.StatusCode)
	}
	rcSmall, refSmall := newReporter(t, s.url).report("acc", "a small report while the object store is full", nil)
	crashCheckOpen(t, s, refEarly, map[string]string{"001-report.txt": "an earlier report"})
	crashCheckOpen(t, s, refSmall, map[string]string{"001-report.txt": "a small report while the object store is full"})

	if err := os.Remove(ball); err != nil {
		t.Fatal(err)
	}
	_, refBig := newReporter(t, s.url).report("acc", "fits now", []upload{{"big.bin", zeros(64 << 20)}})
	crashCheckOpen(t, s, refBig, map[string]string{"001-report.txt": "fits now"})
	for rc, ref := range map[string]string{rcEarly: refEarly, rcSmall: refSmall} {
		if _, body, err := newCrashClient(s.url).login(rc); err != nil || !strings.Contains(body, ref) {
			t.Errorf("the receipt of %s does not log in: %v", ref, err)
		}
	}
	// What the refused uploads sent is gone (aborted, or swept once
	// older than sweep_after), and every object has its record.
	crashSharedClean(t, store, filepath.Join(data, "vault"))
	if out, errOut, code := runCLI(t, "audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit verify: exit %d\n%s%s", code, out, errOut)
	}
}
