package control

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/casework"
	"cleandrop/drop/stage"
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// fakeOfficers records what the API asked of it.
type fakeOfficers struct{ tokens map[string]string }

func (f *fakeOfficers) Add(name, role string, agencies []string) (NewOfficer, error) {
	if name == "taken" {
		return NewOfficer{}, &UserError{Msg: "an officer with that name already exists", Hint: "choose another name"}
	}
	return NewOfficer{Name: name, EnrolToken: "tok", EnrolPath: "/enrol/tok"}, nil
}
func (f *fakeOfficers) Revoke(name string) error { return nil }
func (f *fakeOfficers) List() ([]OfficerInfo, error) {
	return []OfficerInfo{{Name: "alice", Role: "officer", Agencies: []string{"acc"}}}, nil
}
func (f *fakeOfficers) SetDigest(name string, req DigestRequest) (DigestReply, error) {
	return DigestReply{Name: name, On: req.Email != ""}, nil
}
func (f *fakeOfficers) SendDigest(name string) (DigestReply, error) {
	return DigestReply{Name: name, On: true, Sent: true}, nil
}
func (f *fakeOfficers) Token(name, label string) (string, error) {
	if strings.TrimSpace(label) == "" {
		return "", &UserError{Msg: "a token label is 1-64 printable characters"}
	}
	f.tokens[name] = label
	return name + ".secret", nil
}

// serve runs the control API on a unix socket over a real vault with one
// case and returns a client and the case's reference.
func serve(t *testing.T) (*Client, string, *vault.Store, *fakeOfficers) {
	c, ref, st, off, _ := serveAudited(t)
	return c, ref, st, off
}

var testPolicy = stage.Policy{Name: "test", Stages: []string{"received", "acknowledged", "closed"}}

// newOps is the operations layer over st, recording into a new audit log.
func newOps(t *testing.T, st casework.Store) (*casework.Desk, *audit.Log) {
	t.Helper()
	au, err := audit.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { au.Close() })
	ops, err := casework.New(casework.Config{Store: st, Audit: au, Policy: testPolicy})
	if err != nil {
		t.Fatal(err)
	}
	return ops, au
}

// serveAudited is serve, with the audit log the control API records into.
func serveAudited(t *testing.T) (*Client, string, *vault.Store, *fakeOfficers, *audit.Log) {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{
		{ID: "acc", Name: "ACC", Recipients: []age.Recipient{id.Recipient()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reply, _ := age.GenerateX25519Identity()
	lookup := make([]byte, 32)
	rand.Read(lookup)
	b, err := st.NewCase("acc", vault.Access{Lookup: lookup, KDF: "test", ReplyRecipient: reply.Recipient().String(), WrappedReply: []byte("w")})
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
	dir, err := os.MkdirTemp("", "cdctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "control.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	off := &fakeOfficers{tokens: map[string]string{}}
	ops, au := newOps(t, st)
	srv := &http.Server{Handler: Handler(st, ops, au, off, nil, nil), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if _, err := Listen(sock); err == nil {
		t.Error("a second server took a control socket in use")
	}
	return NewClient(sock), ref, st, off, au
}

func TestCases(t *testing.T) {
	c, ref, st, _ := serve(t)
	list, err := c.Cases()
	if err != nil || len(list) != 1 || list[0].Ref != ref || list[0].Items != 1 || list[0].Stage != "received" {
		t.Fatalf("Cases = %+v, %v", list, err)
	}
	if _, err := c.Case("CD-NONE-NONE"); statusOf(err) != http.StatusNotFound {
		t.Errorf("unknown case: %v", err)
	}

	if err := c.Ask(ref, []byte("who?")); err != nil {
		t.Fatalf("Ask: %v", err)
	}
	if err := c.Ask(ref, nil); statusOf(err) != http.StatusBadRequest {
		t.Errorf("empty question: %v", err)
	}
	if err := c.Ask(ref, bytes.Repeat([]byte("x"), MaxMessage+1)); statusOf(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("long question: %v", err)
	}
	if err := c.SetStage(ref, StageChange{Stage: "acknowledged", Note: "we have it"}); err != nil {
		t.Fatalf("SetStage: %v", err)
	}
	for _, tc := range []struct {
		sc     StageChange
		status int
	}{
		{StageChange{Stage: "acknowledged"}, http.StatusConflict},
		{StageChange{Stage: "nonsense"}, http.StatusBadRequest},
	} {
		if err := c.SetStage(ref, tc.sc); statusOf(err) != tc.status {
			t.Errorf("stage %+v: %v, want %d", tc.sc, err, tc.status)
		}
	}
	got, _ := st.Case(ref)
	if got.Stage != "acknowledged" || len(got.Items) != 3 {
		t.Errorf("case after the API: stage %s, %d items", got.Stage, len(got.Items))
	}

	var bundle bytes.Buffer
	if err := c.Export(ref, &bundle); err != nil || !bytes.Contains(bundle.Bytes(), []byte(`"ref": "`+ref+`"`)) {
		t.Errorf("Export: %v, %d bytes", err, bundle.Len())
	}
}

func TestOfficerRoutes(t *testing.T) {
	c, _, _, off := serve(t)
	if _, err := c.AddOfficer(OfficerRequest{Name: "taken", Role: "officer", Agencies: []string{"acc"}}); statusOf(err) != http.StatusBadRequest || hintOf(err) != "choose another name" {
		t.Errorf("taken name: %v", err)
	}
	n, err := c.AddOfficer(OfficerRequest{Name: "bob", Role: "officer", Agencies: []string{"acc"}})
	if err != nil || n.EnrolPath != "/enrol/tok" {
		t.Fatalf("AddOfficer: %+v %v", n, err)
	}
	tok, err := c.NewToken("bob", "offline client")
	if err != nil || tok.Token != "bob.secret" || tok.Label != "offline client" || off.tokens["bob"] != "offline client" {
		t.Fatalf("NewToken: %+v %v", tok, err)
	}
	if _, err := c.NewToken("bob", " "); statusOf(err) != http.StatusBadRequest {
		t.Errorf("blank label: %v", err)
	}
	if d, err := c.SendDigest("bob"); err != nil || !d.Sent {
		t.Errorf("SendDigest: %+v %v", d, err)
	}
	if list, err := c.Officers(); err != nil || len(list) != 1 {
		t.Errorf("Officers: %+v %v", list, err)
	}
}

func TestNotRunning(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "nothing.sock"))
	if _, err := c.Cases(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("no server: %v", err)
	}
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func hintOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// referred is a store whose cases all came by referral.
type referred struct{ *vault.Store }

func (referred) Post(ref, stage string, kind vault.Kind, text []byte) error {
	if len(text) > 0 {
		return vault.ErrNoReporter
	}
	return nil
}

func TestReferredCase(t *testing.T) {
	_, ref, st, _ := serve(t)
	ops, au := newOps(t, referred{st})
	h := Handler(st, ops, au, nil, nil, nil)
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/v1/cases/" + ref + "/questions", "who?", http.StatusConflict},
		{"/v1/cases/" + ref + "/stage", `{"stage":"closed","note":"done"}`, http.StatusConflict},
		{"/v1/cases/" + ref + "/stage", `{"stage":"closed"}`, http.StatusOK},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", tc.path, strings.NewReader(tc.body)))
		if w.Code != tc.status || (tc.status == http.StatusConflict && !strings.Contains(w.Body.String(), "came by referral")) {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, w.Code, w.Body)
		}
	}
}
