// Package backend declares the two stores the vault keeps its data in, so
// that the same sealing and case logic runs on one machine (Badger and
// local files, [cleandrop/vault/backend/badgerstore]) or across several
// (PostgreSQL, [cleandrop/vault/backend/pgstore], and an S3-compatible
// object store, [cleandrop/vault/backend/s3blobs]).
//
// A [Meta] is a transactional key-value store: [Meta.Update] runs a
// function in a serializable transaction and runs it again when the
// transaction lost a race ([ErrConflict]), a bounded number of times; a
// [Tx] reads and writes bytes under byte keys, scans a prefix in key order,
// and has put-if-absent and compare-and-swap for records that must change
// exactly once (a TOTP step, a token, an account).
//
// A [Blobs] keeps sealed blobs: [Blobs.Create] returns an [Upload] whose
// blob nobody can list or open before [Upload.Commit]; [Blobs.Sweep]
// removes uploads that were abandoned (an aborted batch, a crashed
// front-end) and is safe while other front-ends commit. Blob names are 128
// random bits in hex; a blob store keeps no metadata but the size.
//
// Neither store is trusted with content. Everything the vault hands a
// backend is sealed already: items with age, metadata values with the
// vault's own AEAD ([Sealed], under a key the backend never sees). Keys
// are opaque (HMACs and random ids), and times the vault stores are days.
// What each engine still reveals by itself (commit times in a write-ahead
// log, an object's Last-Modified) is in docs/threat-model.md.
//
// Every call that may cross a network takes a [context.Context]. The
// methods of a [Tx] use the context of the [Meta.Update] or [Meta.View]
// that runs them.
//
// [cleandrop/vault/backend/backendtest] is the conformance suite every
// implementation passes.
package backend
