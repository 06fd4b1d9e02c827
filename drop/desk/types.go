package desk

import (
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// Record is one metadata record as [Store.Records] returns it.
type Record = vault.Record

// AuditEntry is one line of the audit log. It carries names, actions and
// case references only, never content.
type AuditEntry = audit.Entry
