// Package receipt makes and checks the passphrase receipts that are a
// reporter's only way back to their case.
//
// A receipt is shown once and never stored. The server keeps only what
// [Derive] makes from it: a lookup key (an index, useless without the
// instance pepper) and a wrapping key that seals the case's reply identity
// ([Wrap], [Unwrap]). Derivation is argon2id salted with the instance pepper,
// which lives outside the vault, so a stolen vault alone gives no way to
// test guesses offline. [Params] are recorded beside each case so they can
// be raised later without locking anyone out.
//
// Receipts carry at least 90 bits: seven words from the EFF large list
// ([Words]) or seven groups of four digits ([Digits]). [Normalize] forgives
// case, spacing and punctuation.
package receipt
