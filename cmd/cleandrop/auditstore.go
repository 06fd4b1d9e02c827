package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// openAudit opens the server's audit log: its files in the data
// directory, or, when the vault is in shared stores, the one chain kept in
// the shared database, which every front-end appends to.
func openAudit(cfg *Config, store *vault.Store) (*audit.Log, error) {
	if cfg.Store == nil {
		return audit.Open(auditDir(cfg.DataDir), nil)
	}
	lines, err := store.AuditLines()
	if err != nil {
		return nil, err
	}
	return audit.OpenLines(lines, lines.Key(), nil)
}

// sharedConfig is the configuration --config names when it keeps the
// vault in shared stores, else nil.
func (t target) sharedConfig() (*Config, error) {
	if *t.config == "" {
		return nil, nil
	}
	cfg, err := loadConfig(*t.config)
	if err != nil || cfg.Store == nil {
		return nil, err
	}
	return cfg, nil
}

// openSharedAudit connects to the configured stores and opens their audit
// log read only, without opening the vault: front-ends may be running.
// The caller calls done.
func openSharedAudit(cfg *Config) (lines *vault.AuditLines, done func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	sh, err := openShared(ctx, cfg)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	dir := filepath.Join(cfg.DataDir, "vault")
	lines, err = vault.OpenSharedAudit(ctx, dir, sh)
	if err != nil {
		sh.Meta.Close()
		cancel()
		if errors.Is(err, vault.ErrOtherKey) {
			return nil, nil, hint(err, "copy "+filepath.Join(dir, "vault.key")+" from the front-end that made the vault")
		}
		return nil, nil, err
	}
	return lines, func() { sh.Meta.Close(); cancel() }, nil
}

// verifySharedAudit verifies the audit log in the configured shared
// stores: every line, its MAC, the chain and the head, from one snapshot.
func verifySharedAudit(cfg *Config) (int64, error) {
	lines, done, err := openSharedAudit(cfg)
	if err != nil {
		return 0, err
	}
	defer done()
	n, err := audit.VerifyLines(lines, lines.Key())
	if err != nil {
		return n, fmt.Errorf("the audit log in the shared store: %w", err)
	}
	return n, nil
}

// readSharedAudit reads the audit log of the configured shared stores.
func readSharedAudit(cfg *Config, filter func(audit.Entry) bool, limit int) ([]audit.Entry, error) {
	lines, done, err := openSharedAudit(cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	l, err := audit.OpenLines(lines, lines.Key(), nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Entries(filter, limit)
}
