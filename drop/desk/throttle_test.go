package desk

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web"
)

// TestNoDeskWideLockout: failures for hundreds of other names, from
// other circuits, leave a name's own budget whole; the old desk-wide
// bucket ran dry after fifty. The same in memory and in a shared store.
func TestNoDeskWideLockout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared web.Records
	}{{"memory", nil}, {"shared", &testStore{recs: map[string]map[string][]byte{}}}} {
		t.Run(tc.name, func(t *testing.T) {
			th := newThrottle(tc.shared, time.Now)
			login := func(circuit, name string) bool {
				_, ok, err := th.login(web.WithCircuit(t.Context(), circuit), name)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			for i := range 500 {
				login(fmt.Sprint("flood-", i%50), fmt.Sprint("name", i))
			}
			for i := range nameBurst {
				if !login("officer", "alice") {
					t.Fatalf("alice refused at try %d after others' failures", i+1)
				}
			}
			if login("officer", "alice") {
				t.Fatal("alice's own burst did not run out")
			}
			if _, ok, _ := th.token(web.WithCircuit(t.Context(), "officer"), "alice"); !ok {
				t.Fatal("alice's sign-in failures drained her token budget")
			}
		})
	}
}

// TestInvalidNamesShareOneBudget: strings that can be no login name are
// counted together and never kept as themselves in the shared store.
func TestInvalidNamesShareOneBudget(t *testing.T) {
	st := &testStore{recs: map[string]map[string][]byte{}}
	th := newThrottle(st, time.Now)
	for i := range nameBurst {
		if _, ok, _ := th.login(web.WithCircuit(t.Context(), fmt.Sprint("c", i)), fmt.Sprint("Secret Password ", i)); !ok {
			t.Fatalf("try %d refused", i)
		}
	}
	if _, ok, _ := th.login(web.WithCircuit(t.Context(), "c9"), "Another One"); ok {
		t.Fatal("invalid names do not share one budget")
	}
	recs, _ := st.Records(kindNameBudget)
	if len(recs) != 1 || recs[0].ID != notAName {
		t.Fatalf("budget records: %+v", recs)
	}
	if _, ok, _ := th.login(web.WithCircuit(t.Context(), "c10"), "alice"); !ok {
		t.Fatal("a valid name refused")
	}
	recs, _ = st.Records(kindNameBudget)
	for _, r := range recs {
		if strings.Contains(r.ID, "alice") || strings.Contains(r.ID, "Secret") {
			t.Fatalf("a name tried kept as a record name: %q", r.ID)
		}
	}
	if _, err := st.Record(kindNameBudget, budgetKey("alice")); err != nil {
		t.Fatalf("alice's budget: %v", err)
	}
}
