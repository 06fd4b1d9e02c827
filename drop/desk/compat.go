package desk

import (
	"io"

	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// Record is one metadata record as [Store.Records] returns it.
type Record = vault.Record

// AuditEntry is one line of the audit log. It carries names, actions and
// case references only, never content.
type AuditEntry = audit.Entry

// addSealed stores ciphertext sealed on the offline machine as item kind of
// b, as is.
func addSealed(b *vault.Batch, kind vault.Kind, r io.Reader, name []byte) error {
	return b.AddSealed(kind, r, name)
}
