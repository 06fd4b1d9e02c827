package desk

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web"
)

// withLimits is f served again by a desk with the given idle time and
// bound on uploads.
func (f *fixture) withLimits(t *testing.T, idle time.Duration, uploads *web.Uploads) *fixture {
	t.Helper()
	return f.servedAgain(t, func(c *Config) { c.BodyIdle, c.Uploads = idle, uploads })
}

// stalledItem starts an item upload to case ref over a raw connection as
// the officer of b, announcing 512 KiB and sending only its first bytes.
func stalledItem(t *testing.T, b *browser, ref string) net.Conn {
	t.Helper()
	u, _ := url.Parse(b.f.srv.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var cookies []string
	for _, ck := range b.c.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	const boundary = "XyZ"
	start := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nnote\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.age\"\r\n\r\nage-encryption.org/v1\n"
	fmt.Fprintf(c, "POST /cases/%s/items HTTP/1.1\r\nHost: desk\r\nCookie: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
		ref, strings.Join(cookies, "; "), boundary, 512<<10, start)
	return c
}

func waitUntil(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal(msg)
}

// An officer's upload that stalls is cut after the idle time, keeps
// nothing and gives its slot back.
func TestStalledDeskUploadIsCut(t *testing.T) {
	base := newFixture(t)
	uploads := web.NewUploads(2, 0)
	f := base.withLimits(t, 300*time.Millisecond, uploads)
	ref, _ := f.newCase("acc", "report")
	b := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	before, _ := f.store.Case(ref)

	c := stalledItem(t, b, ref)
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // without the cut: for ever
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the stalled upload was never cut")
	}
	if cs, _ := f.store.Case(ref); len(cs.Items) != len(before.Items) {
		t.Errorf("the case has %d items after a cut upload, want %d", len(cs.Items), len(before.Items))
	}
	waitUntil(t, func() bool { return uploads.InUse() == 0 }, "the cut upload kept its slot")
}

// Uploads beyond the bound get 503 at once (a translated page, or JSON on
// the API) with the security headers; nothing of them is kept.
func TestDeskUploadsBeyondBoundAreBusy(t *testing.T) {
	base := newFixture(t)
	uploads := web.NewUploads(1, 0)
	f := base.withLimits(t, time.Minute, uploads)
	ref, reply := f.newCase("acc", "report")
	b := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	before, _ := f.store.Case(ref)
	held := stalledItem(t, b, ref)
	waitUntil(t, func() bool { return uploads.InUse() == 1 }, "the stalled upload never took its slot")

	sealed := sealTo(t, "x", f.agency.Recipient(), reply.Recipient())
	for _, path := range []string{"/items", "/refer"} {
		body, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealed)
		resp, out := b.postBody("/cases/"+ref+path, ct, body)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(out, "try again in a moment") {
			t.Fatalf("%s beyond the bound: %d\n%s", path, resp.StatusCode, out)
		}
		for k, v := range web.SecurityHeaders {
			if resp.Header.Get(k) != v {
				t.Errorf("%s: %s = %q", path, k, resp.Header.Get(k))
			}
		}
	}
	if cs, _ := f.store.Case(ref); len(cs.Items) != len(before.Items) {
		t.Fatalf("%d items while busy, want %d", len(cs.Items), len(before.Items))
	}
	held.Close()
	waitUntil(t, func() bool { return uploads.InUse() == 0 }, "the closed upload kept its slot")
	body, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealed)
	if resp, out := b.postBody("/cases/"+ref+"/items", ct, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the other ended: %d\n%s", resp.StatusCode, out)
	}
}
