package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"

	"cleandrop/drop/control"
	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/signing"
)

// A backup is an age file sealed to the configuration's backup_recipients.
// Inside is a tar: the parts, then manifest.json, which lists every part
// by name, size and SHA-256, then manifest.json.sig, the drop's signature
// over it (age seals but does not sign: anyone with a backup recipient's
// public key could make a backup). The plaintext exists only in the
// server's memory (backup) and the restoring machine's (restore).
const (
	backupFormat   = "cleandrop-backup-v1"
	backupManifest = "manifest.json"
	backupSig      = "manifest.json.sig"
	// Parts outside the vault and the audit log.
	backupConfig = "config.json"
	backupPepper = "pepper"
	backupSign   = "signing/"
	backupTor    = "tor/"
)

// onionKeys are the files of the tor directory a backup keeps: the seeds
// the onion addresses come from. Tor's own state is made afresh.
var onionKeys = []string{"source.key", "desk.key"}

type manifestPart struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type backupList struct {
	Format string         `json:"format"`
	Day    string         `json:"day"` // UTC day the backup was taken
	Parts  []manifestPart `json:"parts"`
}

// backuper takes backups of a running server.
type backuper struct {
	sign  func([]byte) ([]byte, error)
	cfg   *Config
	store *vault.Store
	audit *audit.Log
	log   *slog.Logger
}

// write seals a backup to w. The audit entry comes first: no backup leaves
// the server unaudited.
func (b *backuper) write(w io.Writer) error {
	if b.cfg.Store != nil {
		return fmt.Errorf("%w: %w", control.ErrStoreBackup, vault.ErrSharedBackup)
	}
	if len(b.cfg.backup) == 0 {
		return control.ErrNoBackupKey
	}
	if _, err := b.audit.Append(audit.Entry{Actor: "admin", Action: "backup", Detail: "control"}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	start := time.Now()
	aw, err := age.Encrypt(w, b.cfg.backup...)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(aw)
	list := backupList{Format: backupFormat, Day: time.Now().UTC().Format(time.DateOnly)}
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o600, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(r, size))
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("%s: %d bytes where %d expected", name, n, size)
		}
		list.Parts = append(list.Parts, manifestPart{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	putBytes := func(name string, p []byte) error { return put(name, int64(len(p)), bytes.NewReader(p)) }
	cfgBytes, err := os.ReadFile(b.cfg.path)
	if err != nil {
		return err
	}
	if cfgBytes, err = portableConfig(cfgBytes, filepath.Dir(b.cfg.path)); err != nil {
		return err
	}
	if err := putBytes(backupConfig, cfgBytes); err != nil {
		return err
	}
	pepper, err := readPrivate(b.cfg.PepperFile)
	if err != nil {
		return fmt.Errorf("pepper: %w", err)
	}
	if err := putBytes(backupPepper, pepper); err != nil {
		return err
	}
	for _, f := range []string{signing.SecretFile, signing.PublicFile} {
		p, err := os.ReadFile(filepath.Join(signingDir(b.cfg.DataDir), f))
		if err != nil {
			return fmt.Errorf("signing key: %w", err)
		}
		if err := putBytes(backupSign+f, p); err != nil {
			return err
		}
	}
	for _, f := range onionKeys {
		p, err := os.ReadFile(filepath.Join(torConfig(b.cfg, b.log).Dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // a server that never served onions
		}
		if err != nil {
			return fmt.Errorf("onion key: %w", err)
		}
		if err := putBytes(backupTor+f, p); err != nil {
			return err
		}
	}
	if err := b.audit.Backup(put); err != nil {
		return err
	}
	if err := b.store.Backup(put); err != nil {
		return err
	}
	m, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	m = append(m, '\n')
	sig, err := b.sign(m)
	if err != nil {
		return err
	}
	if err := putBytes(backupManifest, m); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: backupSig, Size: int64(len(sig)), Mode: 0o600, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(sig); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	b.log.Info("backup written", "parts", len(list.Parts), "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	return nil
}

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	t := addTarget(fs)
	out := fs.String("o", "", "write the sealed backup to `FILE` (must not exist)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		return usageErr(fs, stderr, "-o is required")
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	start := time.Now()
	opened, err := createNew(*out, "", c.Backup)
	if err != nil {
		if !opened {
			return err
		}
		var ce *control.Error
		if !errors.Is(err, control.ErrNotRunning) && !errors.As(err, &ce) {
			return hint(err, "the backup stopped midway and "+*out+" was removed; the server's log says why")
		}
		return explain(err)
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Wrote %s (%d bytes, sealed to the backup key, in %.1fs). Test it now: cleandrop restore %s -i BACKUP-KEY --data NEW-DIR\n",
		*out, fi.Size(), time.Since(start).Seconds(), filepath.Base(*out))
	return nil
}

// errRestore marks a backup that failed its checks.
var errRestore = errors.New("the backup is damaged or was altered")

// openBackup decrypts the backup at path with ids and returns its tar.
func openBackup(path string, ids []age.Identity) (*tar.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		f.Close()
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, nil, hint(errors.New("the key does not open this backup"), "pass the backup key named in backup_recipients with -i")
		}
		return nil, nil, fmt.Errorf("%w: %v", errRestore, err)
	}
	return tar.NewReader(r), func() { f.Close() }, nil
}

// checkBackup is restore's first pass: it reads the whole backup, checks
// every part against the manifest at its end, and the manifest's
// signature with signer (nil: the signing key in the backup, whose
// fingerprint it returns for the operator to compare), and returns the
// manifest. Nothing is written.
func checkBackup(path string, ids []age.Identity, signer *signing.Verifier) ([]manifestPart, string, error) {
	tr, done, err := openBackup(path, ids)
	if err != nil {
		return nil, "", err
	}
	defer done()
	return checkParts(tr, signer)
}

// maxPublicKey bounds the signing key's public part that checkParts keeps.
const maxPublicKey = 1 << 20

// checkParts checks a decrypted backup's tar, as checkBackup says.
func checkParts(tr *tar.Reader, signer *signing.Verifier) (_ []manifestPart, _ string, err error) {
	var seen []manifestPart
	var list backupList
	var manifest, sig, public []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", errRestore, err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 {
			return nil, "", fmt.Errorf("%w: %s is not a file", errRestore, hdr.Name)
		}
		switch {
		case hdr.Name == backupManifest && manifest == nil:
			if manifest, err = io.ReadAll(io.LimitReader(tr, 64<<20)); err != nil {
				return nil, "", fmt.Errorf("%w: %v", errRestore, err)
			}
			dec := json.NewDecoder(bytes.NewReader(manifest))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&list); err != nil || list.Format != backupFormat {
				return nil, "", fmt.Errorf("%w: manifest is not a %s manifest", errRestore, backupFormat)
			}
			continue
		case hdr.Name == backupSig && manifest != nil && sig == nil:
			if sig, err = io.ReadAll(io.LimitReader(tr, 64<<10)); err != nil {
				return nil, "", fmt.Errorf("%w: %v", errRestore, err)
			}
			continue
		case manifest != nil:
			return nil, "", fmt.Errorf("%w: %s follows the manifest", errRestore, hdr.Name)
		}
		h := sha256.New()
		var keep bytes.Buffer
		w := io.Writer(h)
		if hdr.Name == backupSign+signing.PublicFile {
			if hdr.Size > maxPublicKey {
				return nil, "", fmt.Errorf("%w: %s is too big", errRestore, hdr.Name)
			}
			w = io.MultiWriter(h, &keep)
		}
		n, err := io.Copy(w, tr)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s: %v", errRestore, hdr.Name, err)
		}
		if keep.Len() > 0 {
			public = keep.Bytes()
		}
		seen = append(seen, manifestPart{Name: hdr.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	if list.Format == "" || sig == nil {
		return nil, "", fmt.Errorf("%w: no signed manifest (cut short?)", errRestore)
	}
	if signer == nil {
		if signer, err = signing.ParseVerifier(public); err != nil {
			return nil, "", fmt.Errorf("%w: its signing key: %v", errRestore, err)
		}
	}
	if err := signer.Verify(manifest, sig); err != nil {
		if errors.Is(err, signing.ErrOtherKey) {
			return nil, "", hint(fmt.Errorf("the backup was not signed by the key given with --signer: %w", err),
				"check that --signer is your drop's public signing key; if it is, this backup did not come from your drop: do not restore it")
		}
		return nil, "", fmt.Errorf("%w: manifest signature: %v", errRestore, err)
	}
	if len(seen) != len(list.Parts) {
		return nil, "", fmt.Errorf("%w: %d parts where the manifest lists %d", errRestore, len(seen), len(list.Parts))
	}
	names := map[string]bool{}
	for i, p := range list.Parts {
		if seen[i] != p {
			return nil, "", fmt.Errorf("%w: part %s does not match the manifest", errRestore, p.Name)
		}
		if names[p.Name] {
			return nil, "", fmt.Errorf("%w: %s listed twice", errRestore, p.Name)
		}
		names[p.Name] = true
		if _, ok := restoreTarget("/", p.Name); !ok {
			return nil, "", fmt.Errorf("%w: unknown part %s", errRestore, p.Name)
		}
	}
	for _, need := range []string{backupConfig, backupPepper, backupSign + signing.SecretFile, audit.BackupLog, audit.BackupKey, audit.BackupHead, vault.BackupKV + "0000"} {
		if !names[need] {
			return nil, "", fmt.Errorf("%w: it lacks %s", errRestore, need)
		}
	}
	return list.Parts, signer.Fingerprint(), nil
}

var kvPart = regexp.MustCompile(`^` + regexp.QuoteMeta(vault.BackupKV) + `[0-9]{4,}$`)

// restoreTarget is where part name goes under the data directory dir: a
// path, or "" for a part of Badger's stream; ok is false for a name no
// backup holds.
func restoreTarget(dir, name string) (path string, ok bool) {
	switch {
	case name == backupConfig:
		return filepath.Join(dir, "config.json"), true
	case name == backupPepper:
		return filepath.Join(dir, "pepper"), true
	case name == backupSign+signing.SecretFile, name == backupSign+signing.PublicFile:
		return filepath.Join(signingDir(dir), strings.TrimPrefix(name, backupSign)), true
	case strings.HasPrefix(name, backupTor):
		for _, k := range onionKeys {
			if name == backupTor+k {
				return filepath.Join(dir, "tor", k), true
			}
		}
	case audit.RestoreName(name) != "":
		return filepath.Join(auditDir(dir), audit.RestoreName(name)), true
	case kvPart.MatchString(name):
		return "", true
	default:
		if p := vault.RestorePath(filepath.Join(dir, "vault"), name); p != "" {
			return p, true
		}
	}
	return "", false
}

// outsidePaths are the configuration's paths to files that stay outside
// the data directory, which a backup does not hold: the pack folder of
// "jurisdiction" (when it names one) and notify's "password_file".
// Relative ones are read from the configuration's folder.
var outsidePaths = []struct {
	key  []string // the JSON keys down to the path
	pack bool     // a jurisdiction: a path only if it names a folder
}{{key: []string{"jurisdiction"}, pack: true}, {key: []string{"notify", "password_file"}}}

// portableConfig is the configuration as a backup keeps it: every path in
// outsidePaths made absolute against base, the configuration's folder, so
// that a restored drop (whose configuration sits in its new data
// directory) still finds them. The rest is kept as it is.
func portableConfig(b []byte, base string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	changed := false
	for _, o := range outsidePaths {
		p, ok := configString(m, o.key)
		if !ok || p == "" || filepath.IsAbs(p) || (o.pack && !isPackPath(p)) {
			continue
		}
		if err := setConfigString(m, o.key, filepath.Join(base, p)); err != nil {
			return nil, err
		}
		changed = true
	}
	if !changed {
		return b, nil
	}
	out, err := json.MarshalIndent(m, "", "  ")
	return append(out, '\n'), err
}

// configString is the string at keys in m, if there is one.
func configString(m map[string]json.RawMessage, keys []string) (string, bool) {
	raw, ok := m[keys[0]]
	if !ok {
		return "", false
	}
	if len(keys) > 1 {
		var sub map[string]json.RawMessage
		if json.Unmarshal(raw, &sub) != nil {
			return "", false
		}
		return configString(sub, keys[1:])
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

// setConfigString sets the string at keys in m, which configString found.
func setConfigString(m map[string]json.RawMessage, keys []string, v string) error {
	if len(keys) > 1 {
		var sub map[string]json.RawMessage
		if err := json.Unmarshal(m[keys[0]], &sub); err != nil {
			return err
		}
		if err := setConfigString(sub, keys[1:], v); err != nil {
			return err
		}
		raw, err := json.Marshal(sub)
		m[keys[0]] = raw
		return err
	}
	raw, err := json.Marshal(v)
	m[keys[0]] = raw
	return err
}

// outsideFiles lists the files outside the data directory that a
// restored configuration names ("key: path"), for restore to say that
// the backup does not hold them.
func outsideFiles(b []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var out []string
	for _, o := range outsidePaths {
		if p, ok := configString(m, o.key); ok && p != "" && (!o.pack || isPackPath(p)) {
			out = append(out, strings.Join(o.key, ".")+": "+p)
		}
	}
	return out
}

// restoreConfig is the backed-up configuration made to run from the
// restored directory: its data there, the pepper in its default place.
func restoreConfig(b []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: config.json: %v", errRestore, err)
	}
	m["data_dir"] = json.RawMessage(`"."`)
	delete(m, "pepper_file")
	out, err := json.MarshalIndent(m, "", "  ")
	return append(out, '\n'), err
}

// emptyDir makes dir (0700) or checks that it is an empty directory.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(ents) > 0:
		return hint(fmt.Errorf("%s is not empty", dir), "restore into a new, empty directory; never over a drop's data")
	}
	return os.Chmod(dir, 0o700)
}

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	idPath := fs.String("i", "", "the backup key's identity `FILE`")
	data := fs.String("data", "", "the new data `DIR` (missing or empty)")
	signer := fs.String("signer", "", "the drop's public signing key `FILE` (public.asc): the backup must be signed by it")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *idPath == "" || *data == "" {
		return usageErr(fs, stderr, "one BACKUP file, -i KEY and --data DIR are required")
	}
	if ents, err := os.ReadDir(*data); err == nil && len(ents) > 0 {
		return hint(fmt.Errorf("%s is not empty", *data), "restore into a new, empty directory; never over a drop's data")
	}
	idf, err := os.Open(*idPath)
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(idf)
	idf.Close()
	if err != nil {
		return hint(fmt.Errorf("identity %s: %w", *idPath, err), "pass the backup key's identity file (AGE-SECRET-KEY-...)")
	}
	var v *signing.Verifier
	if *signer != "" {
		if v, err = signing.FromFile(*signer); err != nil {
			return hint(fmt.Errorf("signing key %s: %w", *signer, err), "pass the drop's public.asc")
		}
	}
	start := time.Now()
	parts, fpr, err := checkBackup(pos[0], ids, v)
	if err != nil {
		return err
	}
	if err := emptyDir(*data); err != nil {
		return err
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	if err := extractBackup(pos[0], ids, parts, dir); err != nil {
		// Take back what was written: the directory was empty.
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
		return err
	}
	n, err := audit.Verify(auditDir(dir))
	if err != nil {
		return fmt.Errorf("restored audit log: %w", err)
	}
	var size int64
	for _, p := range parts {
		size += p.Size
	}
	fmt.Fprintf(stdout, "Restored %d parts (%d bytes; audit log of %d entries verified) into %s in %.1fs.\n", len(parts), size, n, dir, time.Since(start).Seconds())
	if v != nil {
		fmt.Fprintf(stdout, "Signed by the drop's key %s, as --signer says.\n", fpr)
	} else {
		fmt.Fprintf(stdout, "Signed by the signing key it holds, %s: compare it with your drop's fingerprint (cleandrop signing-key), or pass --signer.\n", fpr)
	}
	if cfg, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if files := outsideFiles(cfg); len(files) > 0 {
			fmt.Fprintf(stdout, "The configuration uses files the backup does not hold; copy them to the same places on this machine first:\n")
			for _, f := range files {
				fmt.Fprintf(stdout, "  %s\n", f)
			}
		}
	}
	fmt.Fprintf(stdout, "Check it with: cleandrop check --config %s\n", filepath.Join(dir, "config.json"))
	fmt.Fprintf(stdout, "Start it with: cleandrop serve --config %s\n", filepath.Join(dir, "config.json"))
	return nil
}

// extractBackup is restore's second pass: it writes every part into dir,
// checking each against the manifest again as it goes.
func extractBackup(path string, ids []age.Identity, parts []manifestPart, dir string) error {
	tr, done, err := openBackup(path, ids)
	if err != nil {
		return err
	}
	defer done()
	var kvw *io.PipeWriter
	var kvDone chan error
	endKV := func() error {
		if kvw == nil {
			return nil
		}
		kvw.Close()
		err := <-kvDone
		kvw = nil
		return err
	}
	defer func() {
		if kvw != nil {
			kvw.CloseWithError(errRestore)
			<-kvDone
		}
	}()
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err != nil {
			return fmt.Errorf("%w: %v", errRestore, err)
		}
		if hdr.Name == backupManifest {
			break
		}
		if i >= len(parts) || hdr.Name != parts[i].Name || hdr.Size != parts[i].Size {
			return fmt.Errorf("%w: the backup changed between the two passes", errRestore)
		}
		target, _ := restoreTarget(dir, hdr.Name)
		h := sha256.New()
		src := io.TeeReader(tr, h)
		switch {
		case target == "":
			if kvw == nil {
				pr, pw := io.Pipe()
				kvw, kvDone = pw, make(chan error, 1)
				go func() {
					err := vault.Restore(filepath.Join(dir, "vault"), pr)
					pr.CloseWithError(err)
					kvDone <- err
				}()
			}
			if _, err := io.Copy(kvw, src); err != nil {
				return fmt.Errorf("restore vault: %w", err)
			}
		default:
			if err := endKV(); err != nil {
				return err
			}
			if hdr.Name == backupConfig {
				b, err := io.ReadAll(src)
				if err != nil {
					return err
				}
				if b, err = restoreConfig(b); err != nil {
					return err
				}
				src = bytes.NewReader(b)
			}
			if err := writePart(target, src); err != nil {
				return err
			}
		}
		if hex.EncodeToString(h.Sum(nil)) != parts[i].SHA256 {
			return fmt.Errorf("%w: part %s changed between the two passes", errRestore, hdr.Name)
		}
	}
	return endKV()
}

// writePart writes a new file 0600 at path, durably (removed if that fails).
func writePart(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	_, err := createNew(path, "", func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
	return err
}
