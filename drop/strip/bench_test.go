package strip

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkCleanSmallUnknown cleans a 100 KiB file of a type Clean passes
// unchanged, as most attachments are: the cost that every file pays.
func BenchmarkCleanSmallUnknown(b *testing.B) {
	data := make([]byte, 100<<10)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(data)
	c := &Cleaner{}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Clean(io.Discard, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
