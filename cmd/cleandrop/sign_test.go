package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cleandrop/drop/notify/notifytest"
	"cleandrop/vault/signing"
)

// rewriteTar copies the tar src to dst, passing each member's body through
// edit; a nil result drops the member.
func rewriteTar(t *testing.T, src, dst string, edit func(name string, body []byte) []byte) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if b = edit(h.Name, bytes.Clone(b)); b == nil {
			continue
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	os.WriteFile(dst, buf.Bytes(), 0o600)
}

// TestSignedBundleTamper exports a signed bundle and changes it the ways an
// attacker would: a byte of an item, a byte of the manifest, a signature by
// another key, no signature. 'cleandrop open' refuses each with a message
// that says which; gpg --verify with the published key agrees.
func TestSignedBundleTamper(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)
	_, ref := r.report("acc", "Invoice 4471 was paid twice.", []upload{{"invoice.pdf", strings.NewReader("%PDF pretend")}})
	dir := t.TempDir()
	bundle := filepath.Join(dir, "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)

	// The key officers are given is the one the server keeps, with its
	// fingerprint for comparing out of band.
	out, errOut, code := runCLI(t, "signing-key", "--data", s.data)
	pub, _ := os.ReadFile(s.signingKey())
	if code != 0 || out != string(pub) || !strings.Contains(errOut, "Fingerprint: ") {
		t.Fatalf("signing-key: exit %d\n%s\n%s", code, out, errOut)
	}
	fpr := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(errOut, "Fingerprint: "), "\n", 2)[0])
	// The desk serves the same key without a sign-in; the reporter
	// interface does not serve it at all.
	if resp, body := newReporter(t, s.deskURL(t)).get("/signing-key.asc"); resp.StatusCode != 200 || body != string(pub) || resp.Header.Get("Content-Type") != "application/pgp-keys" {
		t.Errorf("desk /signing-key.asc: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := r.get("/signing-key.asc"); resp.StatusCode != 404 {
		t.Errorf("reporter interface /signing-key.asc: %d, want 404", resp.StatusCode)
	}

	g := notifytest.NewGPG(t)
	g.Run(pub, "--import")
	gpgVerify := func(bundle string) error {
		t.Helper()
		files := untar(t, bundle)
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "manifest.json"), files["manifest.json"], 0o600)
		os.WriteFile(filepath.Join(d, "manifest.json.sig"), files["manifest.json.sig"], 0o600)
		_, _, err := g.Try(nil, "--verify", filepath.Join(d, "manifest.json.sig"), filepath.Join(d, "manifest.json"))
		return err
	}
	open := func(bundle string) (string, string, int) {
		t.Helper()
		return runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "out"))
	}

	out, errOut, code = open(bundle)
	if code != 0 || !strings.Contains(out, "Manifest signature good: key "+fpr) {
		t.Fatalf("open of the genuine bundle: exit %d\n%s%s", code, out, errOut)
	}
	if err := gpgVerify(bundle); err != nil {
		t.Fatalf("gpg --verify refused the genuine manifest: %v", err)
	}
	// In the officer's language, with the stage's name in it.
	out, errOut, code = runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "out"), "--language", "mn")
	if code != 0 || !strings.Contains(out, "Манифестын гарын үсэг зөв: түлхүүр "+fpr) || !strings.Contains(out, "шат: Хүлээн авсан") ||
		strings.Contains(out, "decrypted") {
		t.Errorf("open --language mn: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "out"), "--language", "xx"); code != 1 ||
		!strings.Contains(errOut, `cleandrop: error: --language "xx" is not one the drop speaks`) || !strings.Contains(errOut, "cleandrop: hint: use one of en, ko, mn") {
		t.Errorf("open --language xx: exit %d\n%s", code, errOut)
	}

	// Another key for the attacker, in a GnuPG home of their own.
	mallory := notifytest.NewGPG(t)
	mfpr := mallory.GenKey("mallory@example.org", "ed25519", "sign", "never")
	raw, err := hex.DecodeString(mfpr)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		edit   func(name string, b []byte) []byte
		stderr []string
		gpgOK  bool // gpg --verify of the manifest alone passes
	}{
		{
			name: "item byte",
			edit: func(name string, b []byte) []byte {
				if name == "items/001-report.age" {
					b[len(b)-1] ^= 1
				}
				return b
			},
			stderr: []string{"item 1: checksum mismatch", "nothing was decrypted"},
			gpgOK:  true,
		},
		{
			name: "manifest byte",
			edit: func(name string, b []byte) []byte {
				if name == "manifest.json" {
					return bytes.Replace(b, []byte(`"stage": "received"`), []byte(`"stage": "receivex"`), 1)
				}
				return b
			},
			stderr: []string{"signature does not match the manifest", "do not trust this bundle"},
		},
		{
			name:   "signed by another key",
			edit:   dropSignature, // and a new one from mallory below
			stderr: []string{"signed by another key: made by " + signing.Format(raw), "expected " + fpr},
		},
		{
			name:   "unsigned",
			edit:   dropSignature,
			stderr: []string{"the bundle is not signed", "the drop signs every export"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.tar")
			rewriteTar(t, bundle, bad, tc.edit)
			if tc.name == "signed by another key" {
				resignWith(t, mallory, mfpr, bad)
			}
			out, errOut, code := open(bad)
			if code != 1 || !strings.Contains(errOut, "cleandrop: error: refusing") {
				t.Fatalf("open: exit %d\n%s%s", code, out, errOut)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("open's message lacks %q:\n%s", w, errOut)
				}
			}
			if tc.name == "unsigned" {
				return
			}
			if err := gpgVerify(bad); (err == nil) != tc.gpgOK {
				t.Errorf("gpg --verify: %v, want success %v", err, tc.gpgOK)
			}
			if tc.gpgOK {
				// The signature holds, so the manifest is genuine: the
				// changed item no longer has the checksum it promises.
				files := untar(t, bad)
				var m struct {
					Items []struct{ File, SHA256 string }
				}
				json.Unmarshal(files["manifest.json"], &m)
				sum := sha256.Sum256(files[m.Items[0].File])
				if hex.EncodeToString(sum[:]) == m.Items[0].SHA256 {
					t.Error("the changed item still matches the signed manifest")
				}
			}
		})
	}
}

// dropSignature is a rewriteTar edit that removes the manifest's signature.
func dropSignature(name string, b []byte) []byte {
	if name == "manifest.json.sig" {
		return nil
	}
	return b
}

// resignWith replaces the manifest signature in bundle with one made by
// gpg with the key fpr of home g.
func resignWith(t *testing.T, g *notifytest.GPG, fpr, bundle string) {
	t.Helper()
	files := untar(t, bundle)
	m := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(m, files["manifest.json"], 0o600)
	sig := g.Run(nil, "--armor", "--detach-sign", "--local-user", fpr, "--output", "-", m)
	src := bundle + ".in"
	os.Rename(bundle, src)
	in, _ := os.Open(src)
	defer in.Close()
	var buf bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&buf)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		b, _ := io.ReadAll(tr)
		tw.WriteHeader(h)
		tw.Write(b)
		if i == 0 {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "manifest.json.sig", Size: int64(len(sig)), Mode: 0o600, ModTime: h.ModTime})
			tw.Write(sig)
		}
	}
	tw.Close()
	os.WriteFile(bundle, buf.Bytes(), 0o600)
}
