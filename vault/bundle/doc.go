// Package bundle is the format of the files that carry a case off the
// drop, and everything that reads one on the officer's offline machine.
// It knows nothing of the vault's store: it imports no database or object
// store client, so what `cleandrop open` and `cleandrop refer` run is only
// this package, age and the standard library.
//
// An export bundle is an uncompressed tar stream: [ManifestName] first
// (a [Manifest]: the case's metadata, and for every item its file, size
// and SHA-256), then [SignatureName] when signed, then each item's
// ciphertext ([ItemFile]) and each attachment's sealed name ([NameFile]).
// [Writer] writes such a stream with every file dated midnight of the
// bundle's day. Nothing in a bundle is plaintext but the manifest's
// metadata.
//
// [Open] checks a bundle completely before it writes anything: names,
// sizes, SHA-256 sums, no missing, doubled or extra file, and, with
// [OpenOptions.Verify], the manifest's signature before the manifest is
// parsed. Every failed check wraps [ErrTampered]. It then decrypts the
// items, in a second pass that checks each file again, into an output
// directory through an [os.Root], so nothing is written outside it, and
// renders thread.txt and thread.html (self-contained: no script, no
// external resource) labelled by [ThreadWords]. Plaintext is written only
// there, never to a temporary file; a bundle that cannot seek is spooled
// to a temporary file as it is, ciphertext.
//
// [MakeReferral] re-seals a checked export bundle's items, in memory, to
// another agency's keys, and writes a referral bundle ([ReferralManifest])
// of ciphertext; identities stay behind. [ReferralReader] reads a
// referral bundle as it streams, for the desk to file it.
//
// The errors keep the "vault: …" prefixes they had when this package was
// part of the vault, so that what the commands print did not change.
package bundle
