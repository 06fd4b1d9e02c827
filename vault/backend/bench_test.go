package backend_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/servers"
)

// BenchmarkSmallUpdate measures small Update transactions, sealed as the
// vault seals them, on Badger and on PostgreSQL in the same run: each
// puts a receipt verifier if absent (64 bytes), a case record (300) and
// an item record (100), the writes of a small report. Both stores sync
// every commit to disk. Serial is one writer; Parallel8 is 8 at once
// (front-ends' requests), where PostgreSQL's group commit can help.
func BenchmarkSmallUpdate(b *testing.B) {
	pg := servers.StartPostgres(b)
	stores := []struct {
		name string
		open func(b *testing.B) backend.Meta
	}{
		{"Badger", func(b *testing.B) backend.Meta {
			m, err := badgerstore.OpenMeta(b.TempDir(), make([]byte, 32), nil)
			if err != nil {
				b.Fatal(err)
			}
			return m
		}},
		{"Postgres", func(b *testing.B) backend.Meta {
			m, err := pgstore.Open(b.Context(), pg.NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			return m
		}},
	}
	verifier, record, item := make([]byte, 64), make([]byte, 300), make([]byte, 100)
	report := func(b *testing.B, m backend.Meta, i int64) {
		err := m.Update(b.Context(), func(tx backend.Tx) error {
			if _, err := tx.PutIfAbsent(fmt.Appendf(nil, "receipt/%016x", i), verifier); err != nil {
				return err
			}
			if err := tx.Put(fmt.Appendf(nil, "case/%016x", i), record); err != nil {
				return err
			}
			return tx.Put(fmt.Appendf(nil, "item/%016x/0", i), item)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range stores {
		sealedStore := func(b *testing.B) backend.Meta {
			m, err := backend.Sealed(s.open(b), make([]byte, 32))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			return m
		}
		b.Run(s.name+"/Serial", func(b *testing.B) {
			m := sealedStore(b)
			var i int64
			for b.Loop() {
				i++
				report(b, m, i)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
		b.Run(s.name+"/Parallel8", func(b *testing.B) {
			m := sealedStore(b)
			var n atomic.Int64
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // about 8 goroutines
			b.RunParallel(func(p *testing.PB) {
				for p.Next() {
					report(b, m, n.Add(1))
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
