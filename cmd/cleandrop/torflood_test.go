package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTorFlood runs the flood through the private Tor network: tor tells
// the drop each connection's circuit (HiddenServiceExportCircuitID). A
// flooder on two circuits of its own (two SOCKS isolations) sends wrong
// receipts from 24 goroutines for 30 s while a reporter on another circuit
// signs in with their receipt every second. The reporter's sign-ins
// succeed within 10 s at the 95th percentile, and each flooding circuit's
// evaluated guesses (its 401 answers) stay within the per-circuit bound.
func TestTorFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the flood through Tor")
	}
	n := torNet(t)
	s, _ := torServer(t, n, filepath.Join(t.TempDir(), "data"), 0)
	waitOnion(t, n, s.url)
	rc, _ := onionReporter(t, n, s.url, "flood-reporter").report("acc", "flood through tor", nil)
	noRedirect := func(hc *http.Client) *http.Client {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return hc
	}

	const workers, duration, maxReq = 24, 30 * time.Second, 6000
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var lat []time.Duration
	var fails []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := noRedirect(n.HTTPClient("real-reporter", time.Minute))
		time.Sleep(2 * time.Second) // into the flood
		for ctx.Err() == nil {
			t0 := time.Now()
			code, err := postForm(hc, s.url+"/followup", url.Values{"receipt": {rc}})
			lat = append(lat, time.Since(t0))
			if err != nil || code != http.StatusSeeOther {
				fails = append(fails, http.StatusText(code)+" "+errText(err))
			}
			time.Sleep(time.Second)
		}
	}()
	isolations := []string{"flooder-a", "flooder-b"}
	var mu sync.Mutex
	codes := map[string]map[int]int{}
	var sent, errs atomic.Int64
	t0 := time.Now()
	var fw sync.WaitGroup
	for w := range workers {
		iso := isolations[w%len(isolations)]
		hc := noRedirect(n.HTTPClient(iso, 30*time.Second))
		fw.Add(1)
		go func() {
			defer fw.Done()
			for ctx.Err() == nil && sent.Add(1) <= maxReq {
				code, err := postForm(hc, s.url+"/followup", url.Values{"receipt": {wrongReceipt()}})
				if err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				if codes[iso] == nil {
					codes[iso] = map[int]int{}
				}
				codes[iso][code]++
				mu.Unlock()
			}
		}()
	}
	fw.Wait()
	elapsed := time.Since(t0)
	wg.Wait()

	bound := sourceBurst + int(elapsed/sourceRefill) + 1
	measured(t, "flood through tor: %d requests from %d goroutines on %d circuits in %.1fs (%d transport errors)",
		min(sent.Load(), maxReq), workers, len(isolations), elapsed.Seconds(), errs.Load())
	for _, iso := range isolations {
		measured(t, "flooding circuit %s: answers %v; evaluated %d, bound %d", iso, codes[iso], codes[iso][401], bound)
		if n := codes[iso][401]; n > bound {
			t.Errorf("flooding circuit %s: %d guesses evaluated, bound %d", iso, n, bound)
		}
		if codes[iso][429] == 0 {
			t.Errorf("flooding circuit %s was never refused: the flood did not reach its bound", iso)
		}
	}
	if len(lat) < 5 {
		t.Fatalf("only %d sign-ins by the reporter", len(lat))
	}
	measured(t, "reporter through tor: %d sign-ins during the flood, %d failed %v; latency p95 %v, max %v",
		len(lat), len(fails), fails, p95(lat).Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond))
	if len(fails) > 0 || p95(lat) > 10*time.Second {
		t.Fatalf("the reporter was locked out: %d of %d sign-ins failed %v, p95 %v", len(fails), len(lat), fails, p95(lat))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
