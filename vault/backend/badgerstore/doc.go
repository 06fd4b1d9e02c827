// Package badgerstore is the embedded implementation of the vault's
// stores, on one machine: [Meta] keeps records in Badger (encrypted at
// rest with a key of its own, under the vault's own sealing of values),
// and [Blobs] keeps each blob as a file.
//
// A blob is written to uploads/ under its name and renamed into blobs/ at
// [backend.Upload.Commit], after the file and then the directory are
// synced; so nothing is listed or opened before the commit, and after a
// crash what is left in uploads/ is swept. A committed blob's
// modification and access times are set to midnight (UTC) of the day it
// was committed, so that the file does not say when in the day it was
// written. Its birth and change times are the upload's and the commit's,
// though, which the file-time promise forbids: this is the layout the
// vault used before pack files (vault/pack.go), which exist to avoid
// per-item files. Until packs sit behind [backend.Blobs] too, the
// embedded vault must keep its packs; see docs/threat-model.md.
//
// Badger's transactions are serializable for the keys a transaction
// reads (including every key a scan visited), not for ranges: a key
// inserted by another transaction into a prefix this one scanned does not
// make it conflict. Records that must change once are read, compared and
// written under their own key, which Badger does check.
package badgerstore
