package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// TestCopyHashed: every byte is copied in order and hashed, for sizes
// around the buffer's, from readers that return little at a time; a read
// error and a write error each end the copy with that error.
func TestCopyHashed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, pipeBufSize - 1, pipeBufSize, pipeBufSize + 1, 3*pipeBufSize + 12345, 7 * pipeBufSize} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for name, src := range map[string]io.Reader{
			"whole": bytes.NewReader(data),
			"half":  iotest.HalfReader(bytes.NewReader(data)),
			"one":   iotest.OneByteReader(io.LimitReader(bytes.NewReader(data), 4096)),
		} {
			want := data
			if name == "one" {
				want = data[:min(size, 4096)]
			}
			var dst bytes.Buffer
			h := sha256.New()
			n, err := copyHashed(&dst, src, h)
			if err != nil || n != int64(len(want)) || !bytes.Equal(dst.Bytes(), want) {
				t.Fatalf("%d bytes, %s: copied %d (%d in dst), %v", size, name, n, dst.Len(), err)
			}
			if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Fatalf("%d bytes, %s: the hash is not the hash of what was copied", size, name)
			}
		}
	}

	boom := errors.New("boom")
	src := io.MultiReader(bytes.NewReader(make([]byte, 2*pipeBufSize+7)), iotest.ErrReader(boom))
	var dst bytes.Buffer
	if n, err := copyHashed(&dst, src, sha256.New()); !errors.Is(err, boom) || n != 2*pipeBufSize+7 {
		t.Fatalf("read error: copied %d, %v; want everything before it and the error", n, err)
	}

	w := &failAfter{n: 2, err: boom}
	n, err := copyHashed(w, bytes.NewReader(make([]byte, 20*pipeBufSize)), sha256.New())
	if !errors.Is(err, boom) || n != 2*pipeBufSize {
		t.Fatalf("write error: copied %d, %v; want 2 buffers and the error", n, err)
	}
	if w.calls != 3 {
		t.Fatalf("%d writes after the failing one", w.calls-3)
	}
}

type failAfter struct {
	n, calls int
	err      error
}

func (w *failAfter) Write(b []byte) (int, error) {
	w.calls++
	if w.calls > w.n {
		return 0, w.err
	}
	return len(b), nil
}
