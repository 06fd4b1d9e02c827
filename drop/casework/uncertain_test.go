package casework_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/casework"
	"cleandrop/drop/stage"
	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/backend/backendtest"
)

// TestUncertainChangeAudited: a change whose commit's answer the store
// lost may have landed, and every change that lands is audited: the entry
// is written, marked "(commit uncertain)", and the refusal says to look
// before doing it again (503), not that nothing changed.
func TestUncertainChangeAudited(t *testing.T) {
	dir := t.TempDir()
	un, blobs := backendtest.OpenUnsure(t, dir)
	id, _ := age.GenerateX25519Identity()
	st, err := vault.OpenShared(filepath.Join(dir, "vault"), vault.Shared{Meta: un, Blobs: blobs}, vault.Options{
		Tick: 10 * time.Millisecond, Agencies: []vault.Agency{{ID: "acc", Name: "ACC", Recipients: []age.Recipient{id.Recipient()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := audit.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ops, err := casework.New(casework.Config{Store: st, Audit: l, Policy: stage.EU})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, au: l, ops: ops, id: id}
	ref := f.newCase(t, "acc")
	alice := casework.Officer("alice", casework.RoleOfficer, []string{"acc"}, casework.Page)

	for _, landed := range []bool{true, false} {
		un.Arm(landed)
		_, err := ops.Ask(alice, ref, "When did it happen?")
		if r, ok := casework.Refused(err); !errors.Is(err, vault.ErrUncertain) || !ok || r.ID != casework.RefusedUncertain || r.Status != http.StatusServiceUnavailable {
			t.Fatalf("landed %v: %v, refusal %+v", landed, err, r)
		}
		if un.Armed() {
			t.Fatal("the question's commit was not the uncertain one")
		}
	}
	es, err := l.Entries(func(e audit.Entry) bool { return e.Action == "question" }, 0)
	if err != nil || len(es) != 2 {
		t.Fatalf("question entries: %d, %v", len(es), err)
	}
	for _, e := range es {
		if e.Case != ref || e.Actor != "alice" || !strings.Contains(e.Detail, "(commit uncertain)") {
			t.Errorf("entry %+v", e)
		}
	}
	c, err := st.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	questions := 0
	for _, it := range c.Items {
		if it.Kind == vault.KindQuestion {
			questions++
		}
	}
	if questions != 1 {
		t.Fatalf("%d questions in the case, want the one that landed", questions)
	}
}
