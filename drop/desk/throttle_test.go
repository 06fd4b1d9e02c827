package desk

import (
	"fmt"
	"testing"
	"time"

	"cleandrop/drop/web"
)

// TestNoDeskWideLockout: failures for hundreds of other names, from
// other circuits, leave a name's own budget whole; the old desk-wide
// bucket ran dry after fifty.
func TestNoDeskWideLockout(t *testing.T) {
	th := newThrottle(time.Now)
	for i := range 500 {
		ctx := web.WithCircuit(t.Context(), fmt.Sprint("flood-", i%50))
		if tr, ok := th.login(ctx, fmt.Sprint("name", i)); ok {
			_ = tr // failed: kept
		}
	}
	ctx := web.WithCircuit(t.Context(), "officer")
	for i := range nameBurst {
		if _, ok := th.login(ctx, "alice"); !ok {
			t.Fatalf("alice refused at try %d after others' failures", i+1)
		}
	}
	if _, ok := th.login(ctx, "alice"); ok {
		t.Fatal("alice's own burst did not run out")
	}
	if _, ok := th.token(ctx, "alice"); !ok {
		t.Fatal("alice's sign-in failures drained her token budget")
	}
}
