package notify

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gpgHome is a throw-away GnuPG home for one test.
type gpgHome struct {
	t   *testing.T
	dir string
}

// newGPG makes an empty GnuPG home. Without gpg the test is skipped, unless
// the CI environment variable is set: then it fails.
func newGPG(t *testing.T) *gpgHome {
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
	g := &gpgHome{t: t, dir: dir}
	t.Cleanup(func() {
		// Stop the agent this home started, then remove the home.
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	return g
}

func (g *gpgHome) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	base := []string{"--homedir", g.dir, "--batch", "--no-tty", "--quiet",
		"--pinentry-mode", "loopback", "--passphrase", ""}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// genKey runs gpg --quick-gen-key and returns the new key's fingerprint.
func (g *gpgHome) genKey(uid, algo, usage, expire string, extra ...string) string {
	g.t.Helper()
	args := append(extra, "--quick-gen-key", uid, algo, usage, expire)
	g.run(nil, args...)
	return g.fingerprint(uid)
}

func (g *gpgHome) fingerprint(uid string) string {
	g.t.Helper()
	out := g.run(nil, "--with-colons", "--list-keys", "="+uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			return f[9]
		}
	}
	g.t.Fatalf("no fingerprint for %q", uid)
	return ""
}

func (g *gpgHome) exportPublic(fprs ...string) string {
	return string(g.run(nil, append([]string{"--armor", "--export"}, fprs...)...))
}

func (g *gpgHome) exportSecret(fpr string) string {
	return string(g.run(nil, "--armor", "--export-secret-keys", fpr))
}

// revoke imports the revocation certificate gpg made at key generation.
func (g *gpgHome) revoke(fpr string) {
	g.t.Helper()
	rev, err := os.ReadFile(filepath.Join(g.dir, "openpgp-revocs.d", fpr+".rev"))
	if err != nil {
		g.t.Fatal(err)
	}
	// gpg prefixes the armor line with ':' against accidental import.
	rev = bytes.Replace(rev, []byte(":-----BEGIN"), []byte("-----BEGIN"), 1)
	g.run(rev, "--import")
}

func (g *gpgHome) decrypt(armored []byte) []byte {
	return g.run(armored, "--decrypt")
}
