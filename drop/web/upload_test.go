package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestUploadsPerCircuit holds uploads open from one circuit and checks that
// it gets only its share of the slots, while another circuit still gets
// one; connections without a PROXY line meet the interface's bound only.
func TestUploadsPerCircuit(t *testing.T) {
	u := NewUploads(4, 2)
	release := make(chan struct{})
	var entered sync.WaitGroup
	h := u.Limit(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Done()
		<-release
	}))
	serve := func(circuit string) <-chan int {
		out := make(chan int, 1)
		ctx := context.Background()
		if circuit != LocalCircuit {
			ctx = WithCircuit(ctx, circuit)
		}
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/report", nil)
		go func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			out <- w.Code
		}()
		return out
	}
	// Circuit a holds its two slots; a third upload from it is refused at
	// once, and so is nothing else.
	entered.Add(2)
	a1, a2 := serve("a"), serve("a")
	entered.Wait()
	if code := <-serve("a"); code != http.StatusServiceUnavailable {
		t.Fatalf("a third upload from one circuit: %d, want 503", code)
	}
	entered.Add(1)
	b1 := serve("b")
	entered.Wait()
	// Four slots in all, three held: one more from the local circuit, then
	// none for anyone.
	entered.Add(1)
	l1 := serve(LocalCircuit)
	entered.Wait()
	if code := <-serve("c"); code != http.StatusServiceUnavailable {
		t.Fatalf("an upload beyond the interface's bound: %d, want 503", code)
	}
	if u.InUse() != 4 {
		t.Fatalf("%d slots in use, want 4", u.InUse())
	}
	close(release)
	for _, c := range []<-chan int{a1, a2, b1, l1} {
		if code := <-c; code != http.StatusOK {
			t.Fatalf("held upload ended with %d", code)
		}
	}
	// Everything given back: circuit a may upload again, and the refused
	// ones left nothing held.
	if u.InUse() != 0 || len(u.held) != 0 {
		t.Fatalf("after the uploads: %d slots in use, circuits held %v", u.InUse(), u.held)
	}
	release = make(chan struct{})
	close(release)
	entered.Add(1)
	if code := <-serve("a"); code != http.StatusOK {
		t.Fatalf("circuit a after its uploads ended: %d", code)
	}
}
