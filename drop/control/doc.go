// Package control is the administrator's channel to a running drop: a small
// JSON API served on a unix socket (mode 0600) in the data directory, and
// the [Client] the cleandrop command uses to reach it. Badger locks its
// directory, so while the server runs every command goes through here.
//
// What the administrator does to a case (export, question, stage change)
// goes through the operations layer the desk uses ([casework.Desk]), as
// [casework.Admin]: the same rules, and an audit entry for each. The audit
// log itself can be read at /v1/audit.
//
// The export command hands the server the file it opened (its descriptor,
// over the socket) and the server writes the bundle into it
// ([Client.ExportFile]): the bundle does not cross the socket.
//
// It moves only ciphertext and metadata. An officer's question arrives as
// plaintext over the socket and is sealed by the vault before anything is
// stored; the server never holds a key that could open it again.
package control
