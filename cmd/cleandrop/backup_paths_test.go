package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"
)

// TestRestoredConfigFindsOutsideFiles: a configuration that names a pack
// folder and notify's password file relative to its own folder is backed
// up with both made absolute, so the configuration restore writes into a
// new data directory loads and finds the same files; restore lists them
// as files the backup does not hold. Backed up as it was written, the
// restored configuration looked for them in the new directory.
func TestRestoredConfigFindsOutsideFiles(t *testing.T) {
	orig := t.TempDir()
	pack := filepath.Join(orig, "mypack")
	if err := os.CopyFS(pack, os.DirFS(filepath.Join("..", "..", "drop", "jurisdiction", "packs", "kr"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orig, "smtp.pass"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]any{
		"data_dir": "data", "listen": "127.0.0.1:0", "desk_listen": "127.0.0.1:0",
		"jurisdiction": "./mypack",
		"agencies":     []map[string]any{{"id": "acc", "name": "Anti-Corruption", "recipients": []string{id.Recipient().String()}}},
		"notify": map[string]any{"smtp": "127.0.0.1:2525", "tls": "none", "from": "cleandrop <drop@agency.example>",
			"hour": 7, "username": "drop", "password_file": "smtp.pass"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(orig, "config.json")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(cfgPath); err != nil {
		t.Fatalf("the original configuration: %v", err)
	}

	kept, err := portableConfig(raw, orig)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := restoreConfig(kept)
	if err != nil {
		t.Fatal(err)
	}
	newDir := t.TempDir()
	newPath := filepath.Join(newDir, "config.json")
	if err := os.WriteFile(newPath, restored, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(newPath)
	if err != nil {
		t.Fatalf("the restored configuration does not load: %v", err)
	}
	if cfg.Notify.PasswordFile != filepath.Join(orig, "smtp.pass") || cfg.DataDir != newDir {
		t.Fatalf("restored: password file %q, data %q; want %q and %q", cfg.Notify.PasswordFile, cfg.DataDir, filepath.Join(orig, "smtp.pass"), newDir)
	}
	want := []string{"jurisdiction: " + pack, "notify.password_file: " + filepath.Join(orig, "smtp.pass")}
	if got := outsideFiles(restored); !slices.Equal(got, want) {
		t.Fatalf("restore lists %q, want %q", got, want)
	}

	// A configuration without such paths, or with absolute ones, is kept
	// byte for byte; a built-in pack's code is no path.
	plain := []byte(`{"data_dir": "/var/lib/cleandrop", "jurisdiction": "kr", "notify": {"password_file": "/etc/cleandrop/smtp.pass"}}`)
	if got, err := portableConfig(plain, orig); err != nil || string(got) != string(plain) {
		t.Fatalf("kept %s (%v), want it unchanged", got, err)
	}
	if got := outsideFiles(plain); !slices.Equal(got, []string{"notify.password_file: /etc/cleandrop/smtp.pass"}) {
		t.Fatalf("outside files of the plain configuration: %q", got)
	}
}
