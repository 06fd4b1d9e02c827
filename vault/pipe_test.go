package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

// recorder is a writing stage that keeps what it is given, and fails
// every write once failAfter bytes have reached it (0: never).
type recorder struct {
	mu        sync.Mutex
	got       bytes.Buffer
	writes    int
	failAfter int
	afterFail int // writes that reached it after it failed
	failed    bool
}

var errStage = errors.New("writing stage failed")

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed {
		r.afterFail++
		return 0, errStage
	}
	r.writes++
	if r.failAfter > 0 && r.got.Len()+len(p) > r.failAfter {
		r.failed = true
		return 0, errStage
	}
	r.got.Write(p)
	return len(p), nil
}

func testPipe(r *recorder) *pipe {
	return &pipe{w: r, bufs: &pipeBufs, depth: pipeDepth, h: sha256.New()}
}

// random returns n reproducible bytes.
func random(n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(b)
	return b
}

// The writing stage gets every byte, in order, in large writes, whatever
// the sizes of the writes into the pipe.
func TestPipeOrder(t *testing.T) {
	data := random(5*pipeBufSize + 12345)
	r := &recorder{}
	p := testPipe(r)
	rng := rand.New(rand.NewPCG(1, 2))
	for rest := data; len(rest) > 0; {
		n := min(len(rest), rng.IntN(200<<10)+1)
		if k, err := p.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write: %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.got.Bytes(), data) {
		t.Fatalf("the writing stage got %d bytes, not the %d written in order", r.got.Len(), len(data))
	}
	if sum := sha256.Sum256(data); !bytes.Equal(p.h.Sum(nil), sum[:]) {
		t.Fatal("the hashing stage's sum is not the SHA-256 of what was written")
	}
	// The first bytes within inlineMax go straight through, then one write
	// per full buffer and one for the rest.
	if r.writes > 1+5+1+1 {
		t.Errorf("%d writes to the writing stage for %d bytes: not in buffers of %d", r.writes, len(data), pipeBufSize)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, errPipeStopped) {
		t.Errorf("Write after Close: %v", err)
	}
}

// A small item never starts the writing goroutine: its bytes reach the
// spill at once, in the writer's goroutine.
func TestPipeSmallInline(t *testing.T) {
	r := &recorder{}
	p := testPipe(r)
	p.Write([]byte("short report"))
	if p.running || r.got.String() != "short report" {
		t.Fatalf("running %v, stage got %q", p.running, r.got.String())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte("short report")); !bytes.Equal(p.h.Sum(nil), sum[:]) {
		t.Fatal("the sum of a small item is not the SHA-256 of its bytes")
	}
}

// An error of the writing stage fails the item: the sealing side sees it
// at a later Write or at Close, never waits for ever, and nothing more
// reaches the stage after its failure.
func TestPipeWriterFails(t *testing.T) {
	for _, failAfter := range []int{inlineMax + 1, pipeBufSize + 7, 3 * pipeBufSize} {
		r := &recorder{failAfter: failAfter}
		p := testPipe(r)
		chunk := random(64<<10 + 16) // age's chunk
		var werr error
		for range 200 { // 13 MiB: far beyond the ring
			if _, werr = p.Write(chunk); werr != nil {
				break
			}
		}
		cerr := p.Close()
		if !errors.Is(werr, errStage) && !errors.Is(cerr, errStage) {
			t.Fatalf("failAfter %d: Write %v, Close %v: the stage's error was lost", failAfter, werr, cerr)
		}
		if !errors.Is(cerr, errStage) && !errors.Is(cerr, errPipeStopped) {
			t.Fatalf("failAfter %d: Close after a failure returned %v", failAfter, cerr)
		}
		if werr == nil {
			t.Errorf("failAfter %d: 200 writes went on after the stage failed", failAfter)
		}
		if r.afterFail != 0 {
			t.Errorf("failAfter %d: %d writes reached the stage after it failed", failAfter, r.afterFail)
		}
	}
}

// stop in the middle (an aborted batch) waits for the goroutine and drops
// what was queued; writes after it fail.
func TestPipeStop(t *testing.T) {
	r := &recorder{}
	p := testPipe(r)
	chunk := random(300 << 10)
	for range 10 {
		if _, err := p.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	p.stop()
	p.stop() // idempotent
	select {
	case <-p.done:
	default:
		t.Fatal("stop returned before the writing goroutine ended")
	}
	if _, err := p.Write(chunk); !errors.Is(err, errPipeStopped) {
		t.Errorf("Write after stop: %v", err)
	}
	if err := p.Close(); !errors.Is(err, errPipeStopped) {
		t.Errorf("Close after stop: %v", err)
	}
}

// openInternal opens a store with one agency for the tests of this
// package.
func openInternal(t *testing.T, dir string, opts Options) (*Store, *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	opts.Agencies = []Agency{{ID: "a1", Name: "Agency One", Recipients: []age.Recipient{id.Recipient()}}}
	opts.Tick = time.Millisecond
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, id
}

// testAccess is a new case's access with a fresh reply recipient.
func testAccess(t *testing.T, lookup string) Access {
	t.Helper()
	reply, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return Access{Lookup: []byte(lookup), ReplyRecipient: reply.Recipient().String()}
}

// packBytes is the size of every pack file of the store at dir.
func packBytes(t *testing.T, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, packDir))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// A large item goes through the pipeline into its pack slot: what the
// store keeps is the ciphertext whose SHA-256 it recorded, and it opens to
// the plaintext.
func TestPipelinedItem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, id := openInternal(t, dir, Options{})
	plain := random(7*pipeBufSize + 999)
	b, err := s.NewCase("a1", testAccess(t, "lookup-1"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Add(KindAttachment, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	for rest := plain; len(rest) > 0; {
		n := min(len(rest), 4096+len(rest)%70000)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	items := c.Items
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	rc, err := s.OpenItem(ref, items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sealed, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(sealed); int64(len(sealed)) != items[0].Size || items[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored %d bytes, recorded %d; digest recorded %s", len(sealed), items[0].Size, items[0].SHA256)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("the stored item does not open to what was written")
	}
}

// An error in the writing stage of a real item (here the free-space
// floor, checked by the writing goroutine as it writes the slot) fails
// the item and its batch, which leaves nothing: no case, no bytes in any
// pack, before and after the store reopens.
func TestPipelineErrorLeavesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, _ := openInternal(t, dir, Options{})
	acc := testAccess(t, "lookup-2")
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Add(KindAttachment, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	chunk := random(1 << 20)
	if _, err := w.Write(chunk); err != nil {
		t.Fatal(err)
	}
	// The next writes reach the writing goroutine through the ring's
	// channel, which orders this change before its next check.
	s.minFree = 1 << 62
	var werr error
	for range 64 {
		if _, werr = w.Write(chunk); werr != nil {
			break
		}
	}
	cerr := w.Close()
	if !errors.Is(werr, ErrLowSpace) && !errors.Is(cerr, ErrLowSpace) {
		t.Fatalf("Write %v, Close %v: want ErrLowSpace from the writing stage", werr, cerr)
	}
	if _, err := b.Commit(); err == nil {
		t.Fatal("a batch whose item failed committed")
	}
	b.Abort()
	if n := packBytes(t, dir); n != 0 {
		t.Errorf("%d bytes left in the packs by a failed batch", n)
	}
	s.Close()
	s2, err := Open(dir, Options{Agencies: []Agency{s.agencies["a1"]}, Tick: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, _, err := s2.AccessByLookup(acc.Lookup); !errors.Is(err, ErrNotFound) {
		t.Errorf("after reopening, the failed case: %v", err)
	}
	if n := packBytes(t, dir); n != 0 {
		t.Errorf("%d bytes left in the packs after reopening", n)
	}
}

// An abort while the writing goroutine is busy with the slot waits for it
// and cuts the slot back: nothing of the item stays.
func TestPipelineAbortMidItem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, _ := openInternal(t, dir, Options{})
	b, err := s.NewCase("a1", testAccess(t, "lookup-3"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Add(KindAttachment, "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	chunk := random(256 << 10)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := w.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	}()
	for packBytes(t, dir) < 4*pipeBufSize {
		time.Sleep(time.Millisecond)
	}
	b.Abort()
	if err := <-done; !errors.Is(err, errAborted) {
		t.Errorf("a write after the abort: %v", err)
	}
	if n := packBytes(t, dir); n != 0 {
		t.Errorf("%d bytes left in the packs by an aborted batch", n)
	}
}

// The plaintext ring clears every buffer it gives back, whether the item
// was closed or stopped half-way, and its writer gets every byte in order.
func TestPlainPipeClearsItsBuffers(t *testing.T) {
	for _, stopEarly := range []bool{false, true} {
		var made []*[]byte
		pool := &sync.Pool{New: func() any {
			b := make([]byte, 0, plainBufSize)
			made = append(made, &b)
			return &b
		}}
		r := &recorder{}
		p := plainPipe(r, nil)
		p.bufs = pool
		data := random(4*plainBufSize + 999)
		if _, err := p.Write(data); err != nil {
			t.Fatal(err)
		}
		if stopEarly {
			p.stop()
		} else if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if !stopEarly && !bytes.Equal(r.got.Bytes(), data) {
			t.Fatalf("the sealing stage got %d bytes, not the %d written in order", r.got.Len(), len(data))
		}
		if len(made) != plainDepth {
			t.Fatalf("%d buffers made, want %d", len(made), plainDepth)
		}
		for i, bp := range made {
			if len(*bp) != 0 || !bytes.Equal((*bp)[:cap(*bp)], make([]byte, cap(*bp))) {
				t.Errorf("stopEarly %v: buffer %d went back holding plaintext", stopEarly, i)
			}
		}
	}
}
