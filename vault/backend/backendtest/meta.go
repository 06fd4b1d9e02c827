// Package backendtest is the conformance suite every implementation of
// [backend.Meta] and [backend.Blobs] passes, in the manner of restic's
// backend test suite: call [RunMeta] and [RunBlobs] from a test with a
// function that opens a fresh, empty store.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"cleandrop/vault/backend"
)

// MetaOpener opens a fresh, empty store; the test closes it.
type MetaOpener func(t *testing.T) backend.Meta

// RunMeta runs the metadata store suite.
func RunMeta(t *testing.T, open MetaOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, m backend.Meta)
	}{
		{"RoundTrip", testRoundTrip},
		{"ErrorRollsBack", testRollback},
		{"ViewIsReadOnly", testViewReadOnly},
		{"ConflictRetriedBothLand", testConflictRetried},
		{"ConcurrentIncrementsExactlyOnce", testConcurrentIncrements},
		{"CompareAndSwap", testCAS},
		{"CompareAndSwapRaceOneWins", testCASRace},
		{"PutIfAbsentRaceOneWins", testPutIfAbsentRace},
		{"ScanOrderAndBounds", testScan},
		{"ScanLongWithReads", testScanLong},
		{"ContextCancel", testMetaCancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := open(t)
			t.Cleanup(func() { m.Close() })
			tc.fn(t, m)
		})
	}
}

func put(t *testing.T, m backend.Meta, k, v string) {
	t.Helper()
	if err := m.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte(k), []byte(v)) }); err != nil {
		t.Fatalf("put %q: %v", k, err)
	}
}

// get returns the value under k, and whether there is one.
func get(t *testing.T, m backend.Meta, k string) (string, bool) {
	t.Helper()
	var v []byte
	err := m.View(t.Context(), func(tx backend.Tx) error {
		var err error
		v, err = tx.Get([]byte(k))
		return err
	})
	if errors.Is(err, backend.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	return string(v), true
}

func testRoundTrip(t *testing.T, m backend.Meta) {
	big := bytes.Repeat([]byte{0, 1, 0xff, 'x'}, 64<<10)
	cases := []struct{ k, v string }{
		{"plain", "value"},
		{"empty value", ""},
		{"\x00\xff binary \x00", "\x00\x01\xfe\xff"},
		{"big", string(big)},
	}
	for _, c := range cases {
		put(t, m, c.k, c.v)
	}
	for _, c := range cases {
		if v, ok := get(t, m, c.k); !ok || v != c.v {
			t.Errorf("get %q: %d bytes, present %v; want %d bytes", c.k, len(v), ok, len(c.v))
		}
	}
	// A value returned is the caller's: changing it changes nothing stored.
	err := m.View(t.Context(), func(tx backend.Tx) error {
		v, err := tx.Get([]byte("plain"))
		if err != nil {
			return err
		}
		copy(v, "XXXXX")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get(t, m, "plain"); v != "value" {
		t.Errorf("after changing a returned slice: %q", v)
	}
	put(t, m, "plain", "second")
	if v, _ := get(t, m, "plain"); v != "second" {
		t.Errorf("overwritten: %q", v)
	}
	if err := m.Update(t.Context(), func(tx backend.Tx) error { return tx.Delete([]byte("plain")) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(t, m, "plain"); ok {
		t.Error("deleted key still there")
	}
	if err := m.Update(t.Context(), func(tx backend.Tx) error { return tx.Delete([]byte("never was")) }); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
}

var errMine = errors.New("the function's own error")

func testRollback(t *testing.T, m backend.Meta) {
	put(t, m, "kept", "old")
	runs := 0
	err := m.Update(t.Context(), func(tx backend.Tx) error {
		runs++
		if err := tx.Put([]byte("kept"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Put([]byte("added"), []byte("x")); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errMine)
	})
	if !errors.Is(err, errMine) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if runs != 1 {
		t.Errorf("a function that failed ran %d times, want 1", runs)
	}
	if v, _ := get(t, m, "kept"); v != "old" {
		t.Errorf("rolled-back put is visible: %q", v)
	}
	if _, ok := get(t, m, "added"); ok {
		t.Error("rolled-back new key is visible")
	}
}

func testViewReadOnly(t *testing.T, m backend.Meta) {
	err := m.View(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("k"), []byte("v")) })
	if err == nil {
		t.Error("a Put inside View succeeded")
	}
	if _, ok := get(t, m, "k"); ok {
		t.Error("a Put inside View is visible")
	}
}

// testConflictRetried makes two transactions conflict for certain: A
// reads the counter, B increments it and commits, then A writes. A must
// run again and both increments land.
func testConflictRetried(t *testing.T, m backend.Meta) {
	put(t, m, "counter", "0")
	read := make(chan struct{})
	bDone := make(chan error, 1)
	var runsA atomic.Int32
	go func() {
		<-read
		bDone <- m.Update(t.Context(), func(tx backend.Tx) error { return increment(tx, "counter", "B") })
	}()
	err := m.Update(t.Context(), func(tx backend.Tx) error {
		run := runsA.Add(1)
		v, err := tx.Get([]byte("counter"))
		if err != nil {
			return err
		}
		if run == 1 {
			close(read)
			if err := <-bDone; err != nil {
				return fmt.Errorf("transaction b: %w", err)
			}
		}
		return tx.Put([]byte("counter"), fmt.Appendf(nil, "%s+A", v))
	})
	if err != nil {
		t.Fatalf("A: %v", err)
	}
	if runsA.Load() < 2 {
		t.Errorf("A ran %d times: its conflict with B was not detected", runsA.Load())
	}
	if v, _ := get(t, m, "counter"); v != "0+B+A" {
		t.Errorf("counter = %q, want 0+B+A (each increment exactly once)", v)
	}
}

func increment(tx backend.Tx, k, by string) error {
	v, err := tx.Get([]byte(k))
	if err != nil {
		return err
	}
	return tx.Put([]byte(k), fmt.Appendf(nil, "%s+%s", v, by))
}

func testConcurrentIncrements(t *testing.T, m backend.Meta) {
	const workers, each = 8, 10
	put(t, m, "n", "0")
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- m.Update(t.Context(), func(tx backend.Tx) error {
					v, err := tx.Get([]byte("n"))
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(string(v), &n)
					if err := tx.Put([]byte("n"), fmt.Append(nil, n+1)); err != nil {
						return err
					}
					return tx.Put(fmt.Appendf(nil, "done/%d/%d", w, i), []byte("1"))
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	if v, _ := get(t, m, "n"); v != fmt.Sprint(workers*each) {
		t.Errorf("counter = %s after %d increments", v, workers*each)
	}
	done := 0
	m.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan([]byte("done/"), func(k, v []byte) error { done++; return nil })
	})
	if done != workers*each {
		t.Errorf("%d marks, want %d", done, workers*each)
	}
}

func cas(t *testing.T, m backend.Meta, k string, old []byte, v string) bool {
	t.Helper()
	var ok bool
	err := m.Update(t.Context(), func(tx backend.Tx) error {
		var err error
		ok, err = tx.CompareAndSwap([]byte(k), old, []byte(v))
		return err
	})
	if err != nil {
		t.Fatalf("CompareAndSwap %q: %v", k, err)
	}
	return ok
}

func testCAS(t *testing.T, m backend.Meta) {
	if cas(t, m, "step", []byte("1"), "2") {
		t.Error("swapped a missing key from a value")
	}
	if !cas(t, m, "step", nil, "1") {
		t.Error("nil old on a missing key did not put")
	}
	if cas(t, m, "step", nil, "9") {
		t.Error("nil old on a present key swapped")
	}
	if cas(t, m, "step", []byte("0"), "9") {
		t.Error("swapped from the wrong value")
	}
	if !cas(t, m, "step", []byte("1"), "2") {
		t.Error("did not swap from the right value")
	}
	if v, _ := get(t, m, "step"); v != "2" {
		t.Errorf("value %q, want 2", v)
	}
}

// race runs fn from n goroutines at once and returns the results of the
// attempts that committed.
func race(t *testing.T, m backend.Meta, n int, fn func(tx backend.Tx, i int) (bool, error)) []int {
	t.Helper()
	var wg sync.WaitGroup
	won := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = m.Update(t.Context(), func(tx backend.Tx) error {
				var err error
				won[i], err = fn(tx, i)
				return err
			})
		})
	}
	close(start)
	wg.Wait()
	var winners []int
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Update %d: %v", i, errs[i])
		}
		if won[i] {
			winners = append(winners, i)
		}
	}
	return winners
}

func testCASRace(t *testing.T, m backend.Meta) {
	for round := range 3 {
		k := fmt.Sprintf("totp/%d", round)
		put(t, m, k, "step-41")
		winners := race(t, m, 8, func(tx backend.Tx, i int) (bool, error) {
			return tx.CompareAndSwap([]byte(k), []byte("step-41"), fmt.Appendf(nil, "step-42 by %d", i))
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: %d swaps won (%v), want exactly 1", round, len(winners), winners)
		}
		if v, _ := get(t, m, k); v != fmt.Sprintf("step-42 by %d", winners[0]) {
			t.Errorf("round %d: value %q, winner %d", round, v, winners[0])
		}
	}
}

func testPutIfAbsentRace(t *testing.T, m backend.Meta) {
	for round := range 3 {
		k := fmt.Sprintf("token/%d", round)
		winners := race(t, m, 8, func(tx backend.Tx, i int) (bool, error) {
			return tx.PutIfAbsent([]byte(k), fmt.Append(nil, i))
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: %d puts won (%v), want exactly 1", round, len(winners), winners)
		}
		if v, _ := get(t, m, k); v != fmt.Sprint(winners[0]) {
			t.Errorf("round %d: value %q, winner %d", round, v, winners[0])
		}
	}
}

func scan(t *testing.T, m backend.Meta, prefix []byte) []string {
	t.Helper()
	var got []string
	err := m.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan(prefix, func(k, v []byte) error {
			if string(v) != "v:"+string(k) {
				return fmt.Errorf("key %q has value %q", k, v)
			}
			got = append(got, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatalf("scan %q: %v", prefix, err)
	}
	return got
}

func testScan(t *testing.T, m backend.Meta) {
	// In byte order ('b' is 0x62).
	keys := []string{"`", "a", "a\x00", "a\x01", "ab", "a\x7f", "a\x80", "a\xff", "a\xff\xff", "b", "\xff", "\xff\xff\x00"}
	shuffled := slices.Clone(keys)
	slices.Reverse(shuffled)
	err := m.Update(t.Context(), func(tx backend.Tx) error {
		for _, k := range shuffled {
			if err := tx.Put([]byte(k), []byte("v:"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		prefix string
		nilPfx bool
		want   []string
	}{
		{prefix: "a", want: []string{"a", "a\x00", "a\x01", "ab", "a\x7f", "a\x80", "a\xff", "a\xff\xff"}},
		{prefix: "a\xff", want: []string{"a\xff", "a\xff\xff"}},
		{prefix: "\xff", want: []string{"\xff", "\xff\xff\x00"}},
		{prefix: "c", want: nil},
		{nilPfx: true, want: keys},
	}
	for _, c := range cases {
		var p []byte
		if !c.nilPfx {
			p = []byte(c.prefix)
		}
		if got := scan(t, m, p); !slices.Equal(got, c.want) {
			t.Errorf("scan %q:\n got %q\nwant %q", c.prefix, got, c.want)
		}
	}
	// A transaction scans its own writes and deletions.
	err = m.Update(t.Context(), func(tx backend.Tx) error {
		if err := tx.Put([]byte("a\x02"), []byte("v:a\x02")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("ab")); err != nil {
			return err
		}
		var got []string
		if err := tx.Scan([]byte("a"), func(k, v []byte) error { got = append(got, string(k)); return nil }); err != nil {
			return err
		}
		want := []string{"a", "a\x00", "a\x01", "a\x02", "a\x7f", "a\x80", "a\xff", "a\xff\xff"}
		if !slices.Equal(got, want) {
			return fmt.Errorf("scan inside the transaction: got %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// An error from fn stops the scan and comes back.
	calls := 0
	err = m.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan([]byte("a"), func(k, v []byte) error { calls++; return errMine })
	})
	if !errors.Is(err, errMine) || calls != 1 {
		t.Errorf("scan stopped by its function: %v after %d calls", err, calls)
	}
}

// testScanLong scans more keys than an implementation is likely to fetch
// at once, reading other keys from inside the scan.
func testScanLong(t *testing.T, m backend.Meta) {
	const n = 1500
	err := m.Update(t.Context(), func(tx backend.Tx) error {
		for i := range n {
			k := fmt.Sprintf("case/%05d", i)
			if err := tx.Put([]byte(k), []byte("v:"+k)); err != nil {
				return err
			}
			if err := tx.Put(fmt.Appendf(nil, "item/%05d", i), fmt.Append(nil, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	err = m.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan([]byte("case/"), func(k, v []byte) error {
			if want := fmt.Sprintf("case/%05d", i); string(k) != want {
				return fmt.Errorf("key %q, want %q", k, want)
			}
			item, err := tx.Get(fmt.Appendf(nil, "item/%05d", i))
			if err != nil {
				return fmt.Errorf("get inside scan: %w", err)
			}
			if string(item) != fmt.Sprint(i) {
				return fmt.Errorf("item %d: %q", i, item)
			}
			i++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Errorf("scanned %d keys, want %d", i, n)
	}
}

func testMetaCancel(t *testing.T, m backend.Meta) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := m.Update(ctx, func(tx backend.Tx) error { return tx.Put([]byte("k"), []byte("v")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context: %v", err)
	}
	if _, ok := get(t, m, "k"); ok {
		t.Error("Update with a cancelled context stored its write")
	}
	err = m.View(ctx, func(tx backend.Tx) error { _, err := tx.Get([]byte("k")); return err })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View with a cancelled context: %v", err)
	}
}
