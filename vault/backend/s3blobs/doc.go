// Package s3blobs is a [backend.Blobs] in an S3-compatible object store
// (through github.com/minio/minio-go/v7), for a drop run by several
// front-ends.
//
// An upload streams into a multipart upload of a fixed part size, so a
// front-end holds one part in memory whatever the size of the blob. The
// object is written once, under its final name (blobs/<32 hex digits>),
// and becomes visible to the vault through a record in the metadata store
// ([backend.Meta]) that [backend.Upload.Commit] writes after the object
// is complete: [Store.List] and [Store.Open] go by the records, not by
// the bucket's listing. We chose this over uploading under a temporary
// name and copying at commit: an S3 object cannot be renamed, a
// server-side copy of a multi-gigabyte object costs as much I/O as the
// upload again (and above 5 GiB needs a multipart copy), and a record in
// the transactional store is what the vault's commit needs anyway.
//
// Each name has one record, either committed (with the size) or swept.
// Commit and [Store.Sweep] both put it only if it is absent, in a
// serializable transaction, so when they race exactly one wins: the blob
// stays, or the commit fails with [backend.ErrSwept]. Sweep aborts
// multipart uploads older than its age (a crashed or abandoned upload)
// and removes objects that have no committed record and are older than
// its age, or that are marked swept. Swept records stay, so a commit that
// comes late never makes a removed object visible; they are a few bytes
// per crash.
//
// The object store sees names that are random, ciphertext, and sizes; no
// user metadata is set. It does see times: an object's Last-Modified is
// the moment its upload completed (at the commit), and a multipart
// upload's Initiated time is when it began. S3 does not let a client set
// either, so [Options.Tick] holds the last part and the completion of
// every upload until the next tick of the vault's write schedule:
// Last-Modified is then a tick. What the store keeps by itself (chunk
// append times, its event log, access logs) is in docs/threat-model.md.
package s3blobs
