package casework_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"

	"cleandrop/drop/casework"
	"cleandrop/drop/stage"
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

type fixture struct {
	st  *vault.Store
	au  *audit.Log
	ops *casework.Desk
	id  *age.X25519Identity
	// custodian is the protection/rewards officer of "acc".
	custodian *age.X25519Identity
}

func newFixture(t *testing.T, au casework.Audit) *fixture {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	cust, _ := age.GenerateX25519Identity()
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{
		{ID: "acc", Name: "ACC", Recipients: []age.Recipient{id.Recipient()}, Custodian: []age.Recipient{cust.Recipient()}},
		{ID: "other", Name: "Other", Recipients: []age.Recipient{other.Recipient()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l, err := audit.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if au == nil {
		au = l
	}
	ops, err := casework.New(casework.Config{Store: st, Audit: au, Policy: stage.EU})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, au: l, ops: ops, id: id, custodian: cust}
}

func (f *fixture) newCase(t *testing.T, agency string) string {
	t.Helper()
	reply, _ := age.GenerateX25519Identity()
	lookup := make([]byte, 32)
	rand.Read(lookup)
	b, err := f.st.NewCase(agency, vault.Access{Lookup: lookup, KDF: "test", ReplyRecipient: reply.Recipient().String(), WrappedReply: []byte("w")})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := b.Add(vault.KindReport, "")
	io.WriteString(w, "a report")
	w.Close()
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestRules(t *testing.T) {
	f := newFixture(t, nil)
	ref := f.newCase(t, "acc")
	refB := f.newCase(t, "other")
	alice := casework.Officer("alice", casework.RoleOfficer, []string{"acc"}, casework.Page)
	nobody := casework.Officer("eve", "intern", []string{"acc"}, casework.Page)
	long := strings.Repeat("x", casework.MaxMessage+1)
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"unknown stage", func() error { _, err := f.ops.SetStage(alice, ref, "nonsense", ""); return err }, casework.ErrStage},
		{"same stage, blank note", func() error { _, err := f.ops.SetStage(alice, ref, "received", " \n "); return err }, casework.ErrSameStage},
		{"note too long", func() error { _, err := f.ops.SetStage(alice, ref, "acknowledged", long); return err }, casework.ErrTooLong},
		{"blank question", func() error { _, err := f.ops.Ask(alice, ref, "\t "); return err }, casework.ErrEmpty},
		{"question too long", func() error { _, err := f.ops.Ask(alice, ref, long); return err }, casework.ErrTooLong},
		{"question not UTF-8", func() error { _, err := f.ops.Ask(alice, ref, "\xff"); return err }, casework.ErrNotText},
		{"another agency", func() error { _, err := f.ops.Ask(alice, refB, "hello"); return err }, vault.ErrNotFound},
		{"unknown role", func() error { _, err := f.ops.Ask(nobody, ref, "hello"); return err }, casework.ErrForbidden},
		{"upload kind", func() error {
			c, _ := f.ops.Load(alice, ref)
			return f.ops.Upload(alice, c, vault.KindReport, strings.NewReader("age"), nil)
		}, casework.ErrKind},
		{"empty upload", func() error {
			c, _ := f.ops.Load(alice, ref)
			return f.ops.Upload(alice, c, vault.KindNote, strings.NewReader(""), nil)
		}, casework.ErrEmptyUpload},
		{"free-text referral reason", func() error {
			c, _ := f.ops.Load(alice, ref)
			_, err := f.ops.Refer(alice, c, strings.NewReader(""), "my own words")
			return err
		}, casework.ErrReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if es, _ := f.au.Entries(nil, 0); len(es) != 0 {
		t.Errorf("refused actions were recorded: %+v", es)
	}
	// The administrator acts on every agency's case, as "admin".
	if _, err := f.ops.Ask(casework.Admin(), refB, " Who? "); err != nil {
		t.Fatal(err)
	}
	es, _ := f.au.Entries(nil, 0)
	if len(es) != 1 || es[0].Actor != casework.AdminName || es[0].Case != refB || es[0].Detail != "control" {
		t.Errorf("entries = %+v", es)
	}
}

// brokenAudit refuses every entry.
type brokenAudit struct{}

func (brokenAudit) Append(audit.Entry) (audit.Entry, error) {
	return audit.Entry{}, errors.New("disk full")
}

// TestReadsRefusedUnaudited: a read the log cannot record does not happen.
func TestReadsRefusedUnaudited(t *testing.T) {
	f := newFixture(t, brokenAudit{})
	ref := f.newCase(t, "acc")
	alice := casework.Officer("alice", casework.RoleOfficer, []string{"acc"}, casework.API)
	c, err := f.ops.Load(alice, ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.ops.Export(t.Context(), alice, c, &buf); !errors.Is(err, casework.ErrUnaudited) || buf.Len() != 0 {
		t.Errorf("export without the audit log: %v, %d bytes", err, buf.Len())
	}
	if _, rc, err := f.ops.Download(alice, ref, 1); !errors.Is(err, casework.ErrUnaudited) || rc != nil {
		t.Errorf("download without the audit log: %v", err)
	}
	if _, err := f.ops.View(alice, ref); !errors.Is(err, casework.ErrUnaudited) {
		t.Errorf("view without the audit log: %v", err)
	}
}
