package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/signing"
)

// shown is a receipt a reporter saw, and when.
type shown struct {
	receipt, ref string
	at           time.Time
}

// submitReport sends a report with one attachment from hc and returns what
// the receipt page shows. It is safe to call from any goroutine.
func submitReport(hc *http.Client, base, agency, message string, file []byte) (rc, ref string, err error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("agency", agency)
	mw.WriteField("message", message)
	w, _ := mw.CreateFormFile("file", "evidence.bin")
	w.Write(file)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/report", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	m := receiptRe.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", "", fmt.Errorf("report: status %d, no receipt", resp.StatusCode)
	}
	return string(m[1]), refRe.FindString(string(page)), nil
}

// manifestDigests is an export's manifest.json without its export day:
// what must be the same when a case is exported from the drop and from its
// restored copy.
func manifestDigests(t *testing.T, bundle string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(untar(t, bundle)["manifest.json"], &m); err != nil {
		t.Fatalf("%s: manifest: %v", bundle, err)
	}
	if len(m["items"].([]any)) == 0 {
		t.Fatalf("%s: manifest lists no items", bundle)
	}
	delete(m, "exported")
	b, _ := json.Marshal(m)
	return string(b)
}

var caseLine = regexp.MustCompile(`(?m)^(CD-[0-9A-Z]{4}-[0-9A-Z]{4})\s`)

func TestBackupRestoreUnderLoad(t *testing.T) {
	s := startDemo(t, "--loopback-proxy-protocol")
	var circuit atomic.Uint32
	client := func() *http.Client {
		hc := circuitClient(circuit.Add(1), 5*time.Minute)
		hc.CheckRedirect = nil
		return hc
	}
	// The onion keys of a drop that has served onions.
	onion := map[string][]byte{}
	os.MkdirAll(filepath.Join(s.data, "tor"), 0o700)
	for _, k := range onionKeys {
		onion[k] = make([]byte, 32)
		rand.Read(onion[k])
		if err := os.WriteFile(filepath.Join(s.data, "tor", k), onion[k], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")

	// Reports with attachments, questions and answers.
	var mu sync.Mutex
	var receipts []shown
	for i := range 4 {
		file := make([]byte, 100<<10*(i+1))
		rand.Read(file)
		rc, ref, err := submitReport(client(), s.url, []string{"acc", "ppo"}[i%2], fmt.Sprintf("report %d", i), file)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, shown{rc, ref, time.Now()})
		if i%2 == 0 {
			s.cli(t, "reply", "--case", ref, "--text-file", writeTemp(t, "Who signed it?"))
			r := &reporter{t: t, base: s.url, hc: client()}
			if resp, body := r.postForm("/followup", map[string]string{"receipt": rc}); resp.Request.URL.Path != "/case" {
				t.Fatalf("login: %s\n%s", resp.Request.URL, body)
			}
			if resp, body := r.postMultipart("/case/answer", [][2]string{{"message", "The director."}}, []upload{{"scan.png", bytes.NewReader(file[:5000])}}); resp.StatusCode != http.StatusOK {
				t.Fatalf("answer: %d\n%s", resp.StatusCode, body)
			}
		}
	}

	// Load: concurrent reporters until the backup is written.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 3 {
		wg.Go(func() {
			hc := client()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				file := make([]byte, 200<<10)
				rand.Read(file)
				rc, ref, err := submitReport(hc, s.url, "acc", fmt.Sprintf("load %d/%d", c, n), file)
				if err != nil {
					t.Errorf("load reporter %d: %v", c, err)
					return
				}
				mu.Lock()
				receipts = append(receipts, shown{rc, ref, time.Now()})
				mu.Unlock()
			}
		})
	}
	// Let the load get going, then back up while it runs.
	for {
		mu.Lock()
		n := len(receipts)
		mu.Unlock()
		if n >= 7 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "drop.backup")
	began := time.Now()
	s.cli(t, "backup", "-o", file)
	took := time.Since(began)
	close(stop)
	wg.Wait()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %04o, want 0600", fi.Mode().Perm())
	}
	during := 0
	for _, rc := range receipts {
		if rc.at.After(began) && rc.at.Before(began.Add(took)) {
			during++
		}
	}
	// Only ciphertext reached the disk: no part of the data shows.
	sealed := readFile(t, file)
	for what, plain := range map[string]string{
		"the configuration": "Anti-Corruption Commission (demo)",
		"the pepper":        readFile(t, filepath.Join(s.data, "pepper")),
		"the signing key":   "PGP PRIVATE KEY",
		"the audit log":     "officer.add",
		"a case reference":  receipts[0].ref,
		"the manifest":      backupFormat,
	} {
		if strings.Contains(sealed, plain) {
			t.Errorf("the backup file shows %s in the clear", what)
		}
	}
	measured(t, "backup: %d bytes in %v, %d reports in total, %d finished while it ran", fi.Size(), took.Round(time.Millisecond), len(receipts), during)

	backupKey := filepath.Join(s.data, "demo", "backup.key")
	t.Run("refusals", func(t *testing.T) {
		// One byte changed anywhere in the payload.
		b, _ := os.ReadFile(file)
		b[len(b)/2] ^= 0x01
		bad := filepath.Join(t.TempDir(), "tampered.backup")
		os.WriteFile(bad, b, 0o600)
		out := filepath.Join(t.TempDir(), "restored")
		if _, errOut, code := runCLI(t, "restore", bad, "-i", backupKey, "--data", out); code != 1 || !strings.Contains(errOut, "damaged or was altered") {
			t.Errorf("tampered backup: exit %d\n%s", code, errOut)
		}
		if ents, _ := os.ReadDir(out); len(ents) > 0 {
			t.Errorf("a refused restore left %d entries in %s", len(ents), out)
		}
		// An officer's key is not the backup key.
		if _, errOut, code := runCLI(t, "restore", file, "-i", s.key("acc"), "--data", out); code != 1 || !strings.Contains(errOut, "does not open this backup") {
			t.Errorf("wrong key: exit %d\n%s", code, errOut)
		}
		full := t.TempDir()
		os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o600)
		if _, errOut, code := runCLI(t, "restore", file, "-i", backupKey, "--data", full); code != 1 || !strings.Contains(errOut, "not empty") {
			t.Errorf("non-empty directory: exit %d\n%s", code, errOut)
		}
		// Signed by another drop's key than the one named.
		other, _, err := signing.LoadOrCreate(t.TempDir(), "another drop")
		if err != nil {
			t.Fatal(err)
		}
		otherKey := filepath.Join(t.TempDir(), "other.asc")
		os.WriteFile(otherKey, other.PublicKey(), 0o600)
		if _, errOut, code := runCLI(t, "restore", file, "-i", backupKey, "--signer", otherKey, "--data", out); code != 1 || !strings.Contains(errOut, "not signed by the key given with --signer") {
			t.Errorf("another drop's signing key: exit %d\n%s", code, errOut)
		}
		// A backup cut short.
		short := filepath.Join(t.TempDir(), "short.backup")
		os.WriteFile(short, b[:len(b)-100], 0o600)
		if _, errOut, code := runCLI(t, "restore", short, "-i", backupKey, "--data", out); code != 1 || !strings.Contains(errOut, "damaged or was altered") {
			t.Errorf("short backup: exit %d\n%s", code, errOut)
		}
	})

	dir := filepath.Join(t.TempDir(), "restored")
	start := time.Now()
	if out, errOut, code := runCLI(t, "restore", file, "-i", backupKey, "--signer", s.signingKey(), "--data", dir); code != 0 || !strings.Contains(out, "as --signer says") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	} else {
		measured(t, "restore: %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]))
	}
	for name, want := range map[string]string{"pepper": "pepper", "signing/secret.asc": "signing/secret.asc", "tor/source.key": "tor/source.key", "tor/desk.key": "tor/desk.key"} {
		a, _ := os.ReadFile(filepath.Join(s.data, name))
		b, err := os.ReadFile(filepath.Join(dir, want))
		if err != nil || !bytes.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s not restored as it was (%v)", name, err)
		}
	}
	// The restored drop on ports of its own.
	cfgPath := filepath.Join(dir, "config.json")
	var cfg map[string]any
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["listen"], cfg["desk_listen"] = "127.0.0.1:0", "127.0.0.1:0"
	b, _ = json.Marshal(cfg)
	os.WriteFile(cfgPath, b, 0o600)
	r2 := startServer(t, dir, readyURL, "serve", "--config", cfgPath, "--no-tor")

	restored := map[string]bool{}
	for _, m := range caseLine.FindAllStringSubmatch(r2.cli(t, "cases"), -1) {
		restored[m[1]] = true
	}
	// Every receipt shown before the backup began opens its case.
	var before int
	for _, rc := range receipts {
		if !rc.at.Before(began) {
			continue
		}
		before++
		if !restored[rc.ref] {
			t.Errorf("case %s, acknowledged before the backup began, is not in it", rc.ref)
			continue
		}
		r := newReporter(t, r2.url)
		if resp, _ := r.postForm("/followup", map[string]string{"receipt": rc.receipt}); resp.Request.URL.Path != "/case" {
			t.Errorf("receipt of %s does not log in on the restored drop (landed on %s)", rc.ref, resp.Request.URL.Path)
		}
	}
	if before < 7 {
		t.Fatalf("only %d receipts before the backup", before)
	}
	// Every case in the backup exports as it does from the drop.
	for ref := range restored {
		a := filepath.Join(t.TempDir(), "a.tar")
		b := filepath.Join(t.TempDir(), "b.tar")
		s.cli(t, "export", "--case", ref, "-o", a)
		r2.cli(t, "export", "--case", ref, "-o", b)
		if manifestDigests(t, a) != manifestDigests(t, b) {
			t.Errorf("case %s exports differently from the restored drop", ref)
		}
	}
	if out := r2.cli(t, "audit", "verify"); !strings.Contains(out, "audit log ok") {
		t.Errorf("audit verify on the restored drop: %s", out)
	}
	if out := r2.cli(t, "audit", "show"); !regexp.MustCompile(`admin\s+backup\s+-\s+control`).MatchString(out) {
		t.Errorf("the backup is not in the restored audit log:\n%s", out)
	}
	if out := r2.cli(t, "officer", "list"); !strings.Contains(out, "alice") {
		t.Errorf("officer alice not restored:\n%s", out)
	}
	if pa, pb := readFile(t, s.signingKey()), readFile(t, r2.signingKey()); pa != pb {
		t.Error("the restored drop signs with another key")
	}
	measured(t, "restored %d cases, %d receipts checked", len(restored), before)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The configuration's backup recipients are checked as it loads
// ('cleandrop check' and the server alike).
func TestConfigBackupRecipients(t *testing.T) {
	officer, _ := age.GenerateX25519Identity()
	backup, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	for _, tc := range []struct {
		name, keys, err string
	}{
		{"none", ``, ""},
		{"one", `"` + backup.Recipient().String() + `"`, ""},
		{"not a key", `"age1nope"`, "backup recipient 1 is not a valid age public key"},
		{"a secret key", `"` + backup.String() + `"`, "backup recipient 1 is not a valid age public key"},
		{"mixed kinds", `"` + backup.Recipient().String() + `", "` + pq.Recipient().String() + `"`, "mix"},
		{"an officer's key", `"` + officer.Recipient().String() + `"`, `is also a key of agency "acc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(strings.NewReader(`{"data_dir": "d", "backup_recipients": [`+tc.keys+`],
				"agencies": [{"id": "acc", "name": "ACC", "recipients": ["`+officer.Recipient().String()+`"]}]}`), filepath.Join(t.TempDir(), "c.json"))
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && len(cfg.backup) != strings.Count(tc.keys, "age1"):
				t.Errorf("%d backup recipients parsed", len(cfg.backup))
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// A server without backup recipients refuses a backup and leaves no file.
func TestBackupNeedsRecipients(t *testing.T) {
	s := startDemo(t)
	cfgPath := filepath.Join(s.data, "demo", "config.json")
	s.stop()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(readFile(t, cfgPath)), &cfg); err != nil {
		t.Fatal(err)
	}
	delete(cfg, "backup_recipients")
	cfg["listen"], cfg["desk_listen"] = "127.0.0.1:0", "127.0.0.1:0"
	b, _ := json.Marshal(cfg)
	os.WriteFile(cfgPath, b, 0o600)
	s = startServer(t, s.data, readyURL, "serve", "--config", cfgPath, "--no-tor")
	out := filepath.Join(t.TempDir(), "drop.backup")
	_, errOut, code := runCLI(t, "backup", "-o", out, "--data", s.data)
	if code != 1 || !strings.Contains(errOut, "backup_recipients") {
		t.Errorf("backup without recipients: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused backup left its file")
	}
}

// A backup that fails after its first byte is cut: the command says so and
// keeps no file.
func TestBackupCutMidway(t *testing.T) {
	s := startDemo(t)
	// The pepper, read again for each backup, is refused once others can
	// read it: after the age header has gone out.
	pepper := filepath.Join(s.data, "pepper")
	if err := os.Chmod(pepper, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "drop.backup")
	_, errOut, code := runCLI(t, "backup", "-o", out, "--data", s.data)
	if code != 1 || !strings.Contains(errOut, "stopped midway") {
		t.Errorf("backup cut midway: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a cut backup left its file")
	}
	os.Chmod(pepper, 0o600)
	s.cli(t, "backup", "-o", out)
}

// backupTar makes the tar inside a backup: parts in order, then the
// manifest and its signature by signer.
func backupTar(t testing.TB, signer *signing.Signer, parts [][2]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	list := backupList{Format: backupFormat, Day: "2026-12-02"}
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o600, Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	for _, p := range parts {
		add(p[0], []byte(p[1]))
		sum := sha256.Sum256([]byte(p[1]))
		list.Parts = append(list.Parts, manifestPart{Name: p[0], Size: int64(len(p[1])), SHA256: hex.EncodeToString(sum[:])})
	}
	m, _ := json.Marshal(list)
	sig, err := signer.Sign(m)
	if err != nil {
		t.Fatal(err)
	}
	add(backupManifest, m)
	add(backupSig, sig)
	tw.Close()
	return b.Bytes()
}

// FuzzBackupParts feeds restore's check any tar: it never panics, and
// what it accepts is signed and lists only parts that have a place.
func FuzzBackupParts(f *testing.F) {
	signer, _, err := signing.LoadOrCreate(f.TempDir(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	parts := [][2]string{
		{backupConfig, `{"data_dir": "."}`}, {backupPepper, "pepper"},
		{backupSign + signing.SecretFile, "secret"}, {backupSign + signing.PublicFile, string(signer.PublicKey())},
		{audit.BackupKey, "k"}, {audit.BackupLog, ""}, {audit.BackupHead, "h"}, {vault.BackupKV + "0000", ""},
		{vault.BackupPacks + "2026-12-02-00.pack", "ciphertext"},
	}
	good := backupTar(f, signer, parts)
	if _, _, err := checkParts(tar.NewReader(bytes.NewReader(good)), nil); err != nil {
		f.Fatalf("the seed is refused: %v", err)
	}
	f.Add(good)
	f.Add(backupTar(f, signer, append(parts, [2]string{"vault/packs/../../x", "y"})))
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _, err := checkParts(tar.NewReader(bytes.NewReader(data)), nil)
		if err != nil {
			return
		}
		for _, p := range got {
			if _, ok := restoreTarget("/d", p.Name); !ok {
				t.Errorf("accepted part %q has no place", p.Name)
			}
		}
	})
}
