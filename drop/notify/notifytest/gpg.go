package notifytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GPG is a throw-away GnuPG home for one test.
type GPG struct {
	t   testing.TB
	dir string
}

// NewGPG makes an empty GnuPG home, removed when the test ends. Without gpg
// the test is skipped with the reason, unless the CI environment variable
// is set: then it fails.
func NewGPG(t testing.TB) *GPG {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("gpg is required when CI is set: %v", err)
		}
		t.Skipf("skipping: gpg not found on PATH (%v); install gnupg to run this test", err)
	}
	// A short path: gpg-agent's socket path must fit in sun_path.
	dir, err := os.MkdirTemp("", "cdgpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &GPG{t: t, dir: dir}
	t.Cleanup(func() {
		// Stop the agent this home started, then remove the home.
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	return g
}

// Run runs gpg in this home, in batch mode with an empty passphrase, and
// returns its standard output. A failure fails the test.
func (g *GPG) Run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, stderr, err := g.Try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// Try is Run for a command that may fail: it returns gpg's standard output,
// its standard error and its error.
func (g *GPG) Try(stdin []byte, args ...string) (stdout []byte, stderr string, err error) {
	base := []string{"--homedir", g.dir, "--batch", "--no-tty", "--quiet",
		"--pinentry-mode", "loopback", "--passphrase", ""}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	out, err := cmd.Output()
	return out, eb.String(), err
}

// GenKey runs gpg --quick-gen-key with extra options before it and returns
// the new key's fingerprint.
func (g *GPG) GenKey(uid, algo, usage, expire string, extra ...string) string {
	g.t.Helper()
	args := append(extra, "--quick-gen-key", uid, algo, usage, expire)
	g.Run(nil, args...)
	return g.Fingerprint(uid)
}

// Fingerprint returns the fingerprint of the key with user ID uid.
func (g *GPG) Fingerprint(uid string) string {
	g.t.Helper()
	out := g.Run(nil, "--with-colons", "--list-keys", "="+uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %q", uid)
	return ""
}

// ExportPublic returns the keys, armored, in one block.
func (g *GPG) ExportPublic(fprs ...string) string {
	return string(g.Run(nil, append([]string{"--armor", "--export"}, fprs...)...))
}

// ExportSecret returns the secret key, armored.
func (g *GPG) ExportSecret(fpr string) string {
	return string(g.Run(nil, "--armor", "--export-secret-keys", fpr))
}

// Revoke imports the revocation certificate gpg made at key generation.
func (g *GPG) Revoke(fpr string) {
	g.t.Helper()
	rev, err := os.ReadFile(filepath.Join(g.dir, "openpgp-revocs.d", fpr+".rev"))
	if err != nil {
		g.t.Fatal(err)
	}
	// gpg prefixes the armor line with ':' against accidental import.
	rev = bytes.Replace(rev, []byte(":-----BEGIN"), []byte("-----BEGIN"), 1)
	g.Run(rev, "--import")
}

// Decrypt decrypts an armored message with the keys of this home.
func (g *GPG) Decrypt(armored []byte) []byte {
	return g.Run(armored, "--decrypt")
}
