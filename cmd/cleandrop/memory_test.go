package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cleandrop/drop/strip/striptest"
)

// procMem reads a process's resident memory from /proc/PID/status, in KiB:
// RssAnon (private) and RssFile (file-backed pages, e.g. Badger's maps).
func procMem(pid int) (anon, file int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return anon, file, sc.Err()
}

// memSampler records the peak memory of a process until stopped.
type memSampler struct {
	mu                 sync.Mutex
	peakAnon, peakFile int64
	stop               chan struct{}
	done               chan struct{}
}

func sample(pid int, every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			if a, f, err := procMem(pid); err == nil {
				m.mu.Lock()
				m.peakAnon, m.peakFile = max(m.peakAnon, a), max(m.peakFile, f)
				m.mu.Unlock()
			}
			select {
			case <-m.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return m
}

func (m *memSampler) finish() (anon, file int64) {
	close(m.stop)
	<-m.done
	return m.peakAnon, m.peakFile
}

// fastRandom is an endless stream of pseudo-random bytes, cheap to make.
type fastRandom struct{ r *rand.ChaCha8 }

func (f fastRandom) Read(p []byte) (int, error) { return f.r.Read(p) }

func freeBytes(dir string) uint64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

// TestLargeUploadMemory streams large attachments through the server,
// which cleans files of hidden details by default, and checks that its
// private memory stays flat (grows by less than 64 MiB) for each: a 1 GiB
// file of random bytes (a type the cleaner does not know: it passes
// through the detector), a JPEG stream of a quarter of that size (filtered
// as it streams), and a 200 MiB docx of stored entries (spooled sealed to
// disk and read back twice) and a 200 MiB PDF (spooled, read back).
// CLEANDROP_BIG_MIB changes the first size.
func TestLargeUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 1 GiB upload")
	}
	mib := int64(1024)
	if v := os.Getenv("CLEANDROP_BIG_MIB"); v != "" {
		mib, _ = strconv.ParseInt(v, 10, 64)
	}
	size := mib << 20
	dir := t.TempDir()
	if free := freeBytes(dir); free < uint64(size)*2+(512<<20) {
		t.Skipf("only %d MiB free in %s: the %d MiB upload needs twice its size", free>>20, dir, mib)
	}
	s := startDemo(t)
	r := newReporter(t, s.url)
	// Warm up: one small report runs the receipt KDF and fills caches.
	r.report("acc", "warm-up", nil)
	warmAnon, _, err := procMem(s.pid())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		size    int64
		file    func() io.Reader
		cleaned bool
	}{
		{"big.bin", size, func() io.Reader { return io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{1})}, size) }, false},
		{"big.jpg", size / 4, func() io.Reader { return jpegStream(size / 4) }, true},
		{"big.docx", 200 << 20, func() io.Reader { return docxStream(t, 200<<20) }, true},
		{"big.pdf", 200 << 20, func() io.Reader { return pdfStream(200 << 20) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			growth := uploadGrowth(t, s, r, warmAnon, tc.name, tc.size, tc.file(), tc.cleaned)
			if growth >= 64<<10 {
				t.Errorf("private memory grew by %d MiB during a %d MiB upload (limit 64 MiB)", growth>>10, tc.size>>20)
			}
		})
	}
}

// uploadGrowth reports one file and returns how much the server's private
// memory grew (KiB) while it streamed in.
func uploadGrowth(t *testing.T, s *server, r *reporter, warmAnon int64, name string, size int64, file io.Reader, cleaned bool) int64 {
	// The file's first read waits until the server has taken the agency and
	// message fields (and run the receipt KDF, a fixed 64 MiB per report);
	// the baseline is taken there, so the growth is the attachment's own.
	started, release := make(chan struct{}), make(chan struct{})
	gated := &gatedReader{r: file, started: started, release: release}
	var baseAnon, baseFile int64
	var m *memSampler
	var start time.Time
	go func() {
		<-started
		time.Sleep(700 * time.Millisecond)
		baseAnon, baseFile, _ = procMem(s.pid())
		m = sample(s.pid(), 20*time.Millisecond)
		start = time.Now()
		close(release)
	}()
	resp, body := r.postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", "a very large attachment follows"}}, []upload{{name, gated}})
	elapsed := time.Since(start)
	peakAnon, peakFile := m.finish()
	if resp.StatusCode != 200 {
		t.Fatalf("report: %d\n%s", resp.StatusCode, body)
	}
	if got := !strings.Contains(body, "not cleaned"); got != cleaned {
		t.Errorf("%s cleaned: %v, want %v", name, got, cleaned)
	}
	growth := peakAnon - baseAnon
	result := fmt.Sprintf("attachment %s of %d MiB (cleaned: %v): %.1f s (%.0f MB/s); RssAnon after warm-up %d MiB, before the file %d MiB, peak %d MiB (growth %d MiB); RssFile before %d MiB, peak %d MiB",
		name, size>>20, cleaned, elapsed.Seconds(), float64(size)/elapsed.Seconds()/1e6, warmAnon>>10, baseAnon>>10, peakAnon>>10, growth>>10, baseFile>>10, peakFile>>10)
	measured(t, "%s", result)
	ref := refRe.FindString(body)
	var found bool
	for _, l := range strings.Split(s.cli(t, "cases"), "\n") {
		found = found || strings.HasPrefix(l, ref)
	}
	if ref == "" || !found {
		t.Fatalf("case %q not listed after the upload", ref)
	}
	return growth
}

// jpegStream is a JPEG of about size bytes: a real head with EXIF, then
// random entropy-coded data without markers, then the end of the image.
func jpegStream(size int64) io.Reader {
	j := striptest.JPEG()
	sos := bytes.LastIndex(j, []byte{0xff, 0xda})
	head := j[:sos+2+int(j[sos+2])<<8|int(j[sos+3])]
	body := noMarkers{io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{2})}, size)}
	return io.MultiReader(bytes.NewReader(head), body, bytes.NewReader([]byte{0xff, 0xd9}))
}

// noMarkers turns every 0xff into 0xfe: entropy-coded data with no marker.
type noMarkers struct{ r io.Reader }

func (n noMarkers) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	for i, b := range p[:k] {
		if b == 0xff {
			p[i] = 0xfe
		}
	}
	return k, err
}

// pdfStream is a one-page PDF whose content stream holds size random
// bytes, with an information dictionary to remove.
func pdfStream(size int64) io.Reader {
	var head bytes.Buffer
	head.WriteString("%PDF-1.4\n")
	var offs []int64
	for i, o := range []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
	} {
		offs = append(offs, int64(head.Len()))
		fmt.Fprintf(&head, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	offs = append(offs, int64(head.Len()))
	fmt.Fprintf(&head, "4 0 obj\n<< /Length %d >>\nstream\n", size)
	var tail bytes.Buffer
	tail.WriteString("\nendstream\nendobj\n")
	at := int64(head.Len()) + size
	offs = append(offs, at+int64(tail.Len()))
	tail.WriteString("5 0 obj\n<< /Author (Jane Reporter) /Producer (Secret Writer 9) >>\nendobj\n")
	xref := at + int64(tail.Len())
	tail.WriteString("xref\n0 6\n0000000000 65535 f \n")
	for _, o := range offs {
		fmt.Fprintf(&tail, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&tail, "trailer\n<< /Size 6 /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return io.MultiReader(&head, io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{9})}, size), &tail)
}

// docxStream writes, as it is read, a docx with the test document's parts
// and size bytes of random data in stored entries of 50 MiB.
func docxStream(t *testing.T, size int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		zw := zip.NewWriter(pw)
		for name, p := range striptest.DOCXParts() {
			w, _ := zw.Create(name)
			io.WriteString(w, p)
		}
		for i := int64(0); i*50<<20 < size; i++ {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("word/media/data%d.bin", i), Method: zip.Store})
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(w, io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{byte(3 + i)})}, min(50<<20, size-i*50<<20))); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(zw.Close())
	}()
	return pr
}

// gatedReader signals its first read and waits for release before reading.
type gatedReader struct {
	r       io.Reader
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.once.Do(func() {
		close(g.started)
		<-g.release
	})
	return g.r.Read(p)
}

// The server runs one P more than the runtime's default while any batch
// streams a large item into a pack slot, and the default again once none
// does; with GOMAXPROCS set it leaves the number alone.
func TestExtraTurn(t *testing.T) {
	if extraTurn("2") != nil {
		t.Error("GOMAXPROCS=2 in the environment: the server still changes the number of Ps")
	}
	runtime.SetDefaultGOMAXPROCS()
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	def := runtime.GOMAXPROCS(0)
	stream := extraTurn("")
	for i, step := range []struct {
		on   bool
		want int
	}{{true, def + 1}, {true, def + 1}, {false, def + 1}, {false, def}, {true, def + 1}, {false, def}} {
		stream(step.on)
		if got := runtime.GOMAXPROCS(0); got != step.want {
			t.Fatalf("step %d (streaming %v): %d Ps, want %d (default %d)", i, step.on, got, step.want, def)
		}
	}
	// Batches starting and ending from many goroutines at once.
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 20 {
				stream(true)
				if n := runtime.GOMAXPROCS(0); n != def+1 {
					t.Errorf("a batch streaming: %d Ps, want %d", n, def+1)
				}
				stream(false)
			}
		})
	}
	wg.Wait()
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("no batch streaming: %d Ps, want the default %d", got, def)
	}
}
