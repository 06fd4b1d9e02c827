package casework_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"cleandrop/drop/casework"
	"cleandrop/vault"
)

// fileIdentity adds an identity filed for purpose to case ref.
func (f *fixture) fileIdentity(t *testing.T, ref string, purpose vault.Purpose) {
	t.Helper()
	b, err := f.st.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.AddIdentity(purpose)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "name: someone\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestIdentityOpened(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.newCase(t, "acc")
	refB := f.newCase(t, "acc")
	f.fileIdentity(t, ref, vault.PurposeReward)
	alice := casework.Officer("alice", casework.RoleOfficer, []string{"acc"}, casework.Page)
	boss := casework.Officer("boss", casework.RoleSupervisor, []string{"acc"}, casework.API)
	carol := casework.Officer("carol", casework.RoleCustodian, []string{"acc"}, casework.Page)
	stranger := casework.Officer("dave", casework.RoleCustodian, []string{"other"}, casework.Page)

	c, err := f.ops.Load(alice, ref)
	if err != nil {
		t.Fatal(err)
	}
	ids := casework.Identities(c)
	if len(ids) != 1 || ids[0].Purpose != vault.PurposeReward {
		t.Fatalf("identities = %+v", ids)
	}
	idItem := ids[0].ID

	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"officer marks opened", func() error { _, _, err := f.ops.IdentityOpened(alice, ref, 0); return err }, casework.ErrIdentity},
		{"supervisor marks opened", func() error { _, _, err := f.ops.IdentityOpened(boss, ref, 0); return err }, casework.ErrIdentity},
		{"administrator marks opened", func() error { _, _, err := f.ops.IdentityOpened(casework.Admin(), ref, 0); return err }, casework.ErrIdentity},
		{"custodian of another agency", func() error { _, _, err := f.ops.IdentityOpened(stranger, ref, 0); return err }, vault.ErrNotFound},
		{"case without identity", func() error { _, _, err := f.ops.IdentityOpened(carol, refB, 0); return err }, casework.ErrNoIdentity},
		{"not an identity item", func() error { _, _, err := f.ops.IdentityOpened(carol, ref, 1); return err }, casework.ErrNoItem},
		{"officer downloads identity", func() error { _, _, err := f.ops.Download(alice, ref, idItem); return err }, casework.ErrIdentity},
		{"supervisor downloads identity", func() error { _, _, err := f.ops.Download(boss, ref, idItem); return err }, casework.ErrIdentity},
		{"custodian downloads report", func() error { _, _, err := f.ops.Download(carol, ref, 1); return err }, casework.ErrForbidden},
		{"custodian asks", func() error { _, err := f.ops.Ask(carol, ref, "who?"); return err }, casework.ErrForbidden},
		{"custodian moves stage", func() error { _, err := f.ops.SetStage(carol, ref, "acknowledged", ""); return err }, casework.ErrForbidden},
		{"custodian uploads", func() error {
			return f.ops.Upload(carol, c, vault.KindNote, strings.NewReader("age"), nil)
		}, casework.ErrForbidden},
		{"custodian refers", func() error { _, err := f.ops.Refer(carol, c, strings.NewReader(""), ""); return err }, casework.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if es, _ := f.au.Entries(nil, 0); len(es) != 0 {
		t.Fatalf("refused actions were recorded: %+v", es)
	}

	// The custodian downloads the identity (sealed to them) and marks it opened.
	it, rc, err := f.ops.Download(carol, ref, idItem)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if it.Kind != vault.KindIdentity {
		t.Errorf("downloaded %s", it.Kind)
	}
	if _, it, err = f.ops.IdentityOpened(carol, strings.ToLower(ref), 0); err != nil || it.ID != idItem {
		t.Fatalf("IdentityOpened: %+v, %v", it, err)
	}
	es, _ := f.au.Entries(nil, 0)
	if len(es) != 2 || es[0].Action != "identity.opened" || es[0].Actor != "carol" || es[0].Case != ref ||
		!strings.Contains(es[0].Detail, "reward") || es[1].Action != "item.download" {
		t.Errorf("audit entries = %+v", es)
	}
}

// TestIdentityOpenedUnaudited: marking an identity opened is nothing but
// its audit entry, so a log that cannot record it refuses it.
func TestIdentityOpenedUnaudited(t *testing.T) {
	f := newFixture(t, brokenAudit{})
	ref := f.newCase(t, "acc")
	f.fileIdentity(t, ref, vault.PurposeProtection)
	carol := casework.Officer("carol", casework.RoleCustodian, []string{"acc"}, casework.Page)
	if _, _, err := f.ops.IdentityOpened(carol, ref, 0); !errors.Is(err, casework.ErrUnaudited) {
		t.Errorf("IdentityOpened without the audit log: %v", err)
	}
}
