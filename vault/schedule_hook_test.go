package vault_test

import (
	"time"

	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// scheduled sets the store's tick.
func scheduled(opts *vault.Options, period time.Duration) { opts.Tick = period }

// wireAudit puts the audit log on the store's schedule.
func wireAudit(s *vault.Store, l *audit.Log) { s.OnTick(l.Tick) }
