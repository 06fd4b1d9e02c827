package main

import (
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/drop/receipt"
)

// TestLoginMemory sends 300 wrong receipts at once, each from its own
// circuit (so none is refused by a circuit's budget or queue bound: every
// one is derived), and prints the server's peak private memory. Two
// argon2 derivations of 64 MiB run at once; a collection after each
// derivation and the process's soft memory limit (memory_limit_mib,
// default 224 MiB) keep freed 64 MiB blocks from piling up. The old code
// peaked at 396 MiB here.
func TestLoginMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping 300 derivations")
	}
	const n = 300
	s := startDemo(t, "--loopback-proxy-protocol")
	// One login first: the first derivation's memory is the baseline's.
	if code, err := postForm(circuitClient(1, time.Minute), s.url+"/followup", url.Values{"receipt": {wrongReceipt()}}); err != nil || code != 401 {
		t.Fatalf("warm-up login: %d %v", code, err)
	}
	time.Sleep(500 * time.Millisecond)
	base, _, err := procMem(s.pid())
	if err != nil {
		t.Fatal(err)
	}
	m := sample(s.pid(), 5*time.Millisecond)
	var wg sync.WaitGroup
	var wrong, other atomic.Int64
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := circuitClient(uint32(100+i), 5*time.Minute)
			<-start
			code, err := postForm(hc, s.url+"/followup", url.Values{"receipt": {wrongReceipt()}})
			if err == nil && code == http.StatusUnauthorized {
				wrong.Add(1)
			} else {
				other.Add(1)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	peak, _ := m.finish()
	after, _, _ := procMem(s.pid())
	measured(t, "GOMEMLIMIT=%q (empty: memory_limit_mib, default 224 MiB): %d concurrent wrong logins (%d evaluated, %d otherwise) in %.1fs: RssAnon %d MiB before, peak %d MiB, %d MiB after",
		os.Getenv("GOMEMLIMIT"), n, wrong.Load(), other.Load(), elapsed.Seconds(), base>>10, peak>>10, after>>10)
	if wrong.Load() != n {
		t.Fatalf("%d of %d logins were evaluated; the test needs them all", wrong.Load(), n)
	}
	// Two derivations of 64 MiB, the baseline, and slack for the
	// collector and 300 connections' buffers.
	if limit := base + 2*64<<10 + 64<<10; peak > limit {
		t.Fatalf("peak RssAnon %d MiB, more than the baseline %d MiB + 2 x 64 MiB + 64 MiB slack", peak>>10, base>>10)
	}
}

func wrongReceipt() string {
	rc, _ := receipt.Generate(receipt.Words)
	return rc
}
