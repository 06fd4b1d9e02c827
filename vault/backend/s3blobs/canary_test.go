package s3blobs_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"

	"filippo.io/age"
)

// canaries stand for what a report holds in plaintext: its agency, its
// stages, the reporter's words.
var canaries = []string{
	"CANARY Ministry of Water Resources of Karakalpakstan",
	"CANARY-stage-under-investigation",
	"CANARY the deputy khokim took the cash in the car park behind the bazaar",
}

// s3cmd runs Debian's s3cmd against endpoint with a configuration file of
// its own ([servers.S3cmdConfig]).
func s3cmd(t testing.TB, endpoint string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("s3cmd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("s3cmd not found; in CI it must be installed (Debian package s3cmd)")
		}
		t.Skip("s3cmd not found (Debian package s3cmd); skipping")
	}
	cfg, err := servers.S3cmdConfig(t.TempDir(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-c", cfg, "--no-progress"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("s3cmd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestS3BucketNoPlaintext: blobs holding the canaries are sealed with age
// by the caller, as the vault seals items, and committed through s3blobs
// with their records in PostgreSQL. The records and the object names hold
// no canary; s3cmd lists every object of the bucket, shows that each has
// only a size, a content type and the store's own headers, and downloads
// them all: no canary in any. A control object put in plaintext with
// s3cmd is found by the same search.
func TestS3BucketNoPlaintext(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	meta, err := pgstore.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	bucket := w.NewBucket(t)
	s, err := s3blobs.New(w.Client(t), bucket, meta, s3blobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range canaries {
		u, err := s.Create(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		sealer, err := age.Encrypt(u, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(sealer, strings.Repeat(c+"\n", 1000))
		if err := sealer.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		names = append(names, u.Name())
	}

	// The commit records and the object names.
	var records bytes.Buffer
	meta.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan(nil, func(k, v []byte) error {
			fmt.Fprintf(&records, "%s=%s\n", k, v)
			return nil
		})
	})
	t.Logf("commit records:\n%s", records.String())
	dump := pg.Dump(t, url)
	for _, c := range canaries {
		for _, where := range [][]byte{records.Bytes(), dump, []byte(strings.Join(names, "\n"))} {
			if bytes.Contains(where, []byte(c)) || bytes.Contains(where, []byte(hex.EncodeToString([]byte(c)))) {
				t.Errorf("canary %q in the records or object names", c)
			}
		}
	}

	// Every object of the bucket, with a stock client.
	const control = "CONTROL object put in plaintext"
	ctl := filepath.Join(t.TempDir(), "control")
	os.WriteFile(ctl, []byte(control), 0o600)
	s3cmd(t, w.Endpoint, "put", ctl, "s3://"+bucket+"/control")
	listing := s3cmd(t, w.Endpoint, "ls", "--recursive", "s3://"+bucket)
	t.Logf("s3cmd ls --recursive:\n%s", listing)
	if n := strings.Count(listing, "s3://"+bucket+"/"); n != len(names)+1 {
		t.Errorf("s3cmd lists %d objects, want %d blobs and the control", n, len(names))
	}
	for i, name := range names {
		info := s3cmd(t, w.Endpoint, "info", "s3://"+bucket+"/blobs/"+name)
		if i == 0 {
			t.Logf("s3cmd info of a blob:\n%s", info)
		}
		for _, line := range strings.Split(info, "\n") {
			field, value, _ := strings.Cut(strings.TrimSpace(line), ":")
			value = strings.TrimSpace(value)
			switch field {
			case "", "File size", "MIME type", "Last mod", "Storage", "MD5 sum", "SSE", "Policy", "CORS", "ACL",
				"Payer", "Expiration Rule", "Lifecycle Policy":
			default:
				if !strings.HasPrefix(line, "s3://") {
					t.Errorf("blob %s has %q: %q beyond size and content type", name, field, value)
				}
			}
			if field == "MIME type" && value != "application/octet-stream" {
				t.Errorf("blob %s has content type %q", name, value)
			}
			if strings.HasPrefix(strings.ToLower(field), "x-amz-meta") {
				t.Errorf("blob %s has user metadata %s", name, line)
			}
		}
	}
	dir := t.TempDir()
	s3cmd(t, w.Endpoint, "get", "--recursive", "s3://"+bucket+"/", dir+"/")
	var objects [][]byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			objects = append(objects, b)
		}
		return nil
	})
	if len(objects) != len(names)+1 {
		t.Fatalf("s3cmd downloaded %d objects, want %d", len(objects), len(names)+1)
	}
	controlFound := false
	for _, o := range objects {
		controlFound = controlFound || bytes.Contains(o, []byte(control))
		for _, c := range canaries {
			if bytes.Contains(o, []byte(c)) {
				t.Errorf("an object holds the canary %q", c)
			}
		}
	}
	if !controlFound {
		t.Error("the plaintext control object was not found by the search")
	}
}
