// Package desk serves the protection officers' interface: sign-in with
// password and TOTP, the case list with legal deadlines, the case page,
// stage changes, questions, downloads of sealed items and export bundles,
// uploads of items sealed on the offline machine, the supervisors' audit
// page, the overseers' oversight page and CSV (per-agency counts and
// median days from case metadata only: no case, item or reference), and a
// JSON API with bearer tokens ([New]). [Accounts] manages the
// officer accounts for the administrator's tools.
//
// The desk never sees plaintext it did not take from an officer's form:
// items are handed out exactly as the vault stored them (age ciphertext for
// the agency), and an officer's question or note streams straight into the
// vault's sealing writer. Uploads of items sealed offline stream through a
// size limit straight into the vault; they are never parsed into memory or
// temporary files ([Store]).
//
// Secrets: passwords are kept only as argon2id hashes with per-account salt
// and recorded parameters; enrolment links and API tokens only as SHA-256
// hashes; TOTP secrets sit in the officer record, which the vault keeps
// encrypted at rest. Names, passwords, codes and tokens are compared in
// constant time, and every refused sign-in gets the same answer. Every
// change to an account is one compare-and-swap of its record
// ([Store.UpdateRecord]), so a TOTP code accepted once is refused at every
// front-end sharing the store. Sessions live in memory only, unless
// [Config.Shared] keeps them, with the sign-in budgets per name, in a
// store several front-ends share: there a session is sealed under a key
// derived from its cookie, which only the officer's browser holds. A case
// of another agency answers exactly like one that does not exist.
//
// Every action on a case is carried out by the operations layer
// ([casework.Desk]), which the control socket uses too: scope, validation,
// sealing and the audit entry ([Audit]) are the same on every path. The
// desk itself records sign-ins, sign-outs and enrolments. Entries carry the
// officer's name, the action and the case reference, never content. The
// handler logs no address, header, field, case reference, file name or
// size. Pages need no JavaScript, load nothing from another origin (the QR
// code of enrolment is a PNG from the desk itself) and take every string
// from the message catalogue.
package desk
