// Package vault keeps cases and their items, sealed with age, on local disk.
//
// A [Store] never writes plaintext to disk. Every item is sealed with
// age as it streams in through the writer that [Batch.Add] returns: to the
// recipients of the case's [Agency], and for [KindQuestion] and [KindNote]
// also to the case's [Access.ReplyRecipient]. A [KindIdentity] item (the
// reporter's name and contact, for protection or a reward) is sealed to the
// agency's [Agency.Custodian] recipients only, and refused for an agency
// without one; its [Purpose] is metadata. Attachment names are sealed the
// same way as their attachments. The server holds only public keys, so it cannot read what it
// stores. Case metadata lives in Badger, encrypted at rest with a random key
// kept in vault.key (mode 0600) beside it.
//
// Memory stays flat whatever the size of an item. Sealed ciphertext of at
// most 64 KiB is kept in memory until the commit; anything bigger streams
// into a pack slot as it is sealed. Pack files (packs/DAY-NN.pack) hold the
// items of many batches one after the other: each day has
// [Options.MaxUploads] slots, created at the day's first tick (or at Open),
// and a batch holds one slot from its first large item to its end, so the
// slots bound concurrent large uploads; a batch that needs one while all are
// held waits. At the commit, small items go to the batch's slot too if one
// is free (else they stay inline in Badger, rather than wait), so that
// Badger holds mostly records. Items stored before packs, one file each in
// blobs/, still read.
//
// Nothing exists before [Batch.Commit]. A batch is committed in one Badger
// transaction, only after every sealing writer has been closed, and only
// after its bytes in the pack have been synced; the transaction records
// each item's pack, offset, length and SHA-256. [Batch.Abort], or a failed
// commit, cuts the slot back to its last committed item; after a crash,
// [Open] does the same for every pack.
//
// # File times
//
// The disk does not say when anyone reported. The store writes on a
// schedule of ticks, wall-clock multiples of [Options.Tick] ([DefaultTick]):
//
//   - commits wait for the next commit step (a sixty-fourth of a tick) and are
//     applied together, so Badger is written only on that grid;
//   - at every tick, whether or not anything happened, the store overwrites
//     one cover key in Badger, runs the [Store.OnTick] hooks (the audit log
//     writes its waiting entries there), and then sets the modification time
//     of every file and directory it may have written since the last tick —
//     badger/ and everything in it, the live packs, packs/ and the vault
//     directory — to the tick (their change time becomes the moment after
//     it), and their access time a day past the tick, a time a relatime
//     mount does not update when the files are read;
//   - pack files are born on the day's schedule, not at uploads; a closed
//     day's packs are not written again.
//
// So after the next tick every mtime and ctime is a tick's, and every birth
// time is a tick's or a commit step's; what remains is in
// docs/threat-model.md ("File times").
//
// Stored times are days ("2006-01-02", UTC), taken from [Options.Now]. The
// store logs counts only: never a case reference, a name or a size at Info.
//
// [Store.Export] writes a case as a tar bundle of ciphertext with a manifest
// of sizes and SHA-256 sums; [bundle.Open], in package cleandrop/vault/bundle
// (the format and the offline opener, which knows nothing of the store),
// checks such a bundle completely before it decrypts it on the officer's
// offline machine. Every sealed item is a plain binary age file that the
// stock age command can decrypt.
//
// [Store.Backup] hands out, while the store serves, a consistent copy:
// Badger's backup stream read in one transaction, then each pack up to the
// last item that stream records in it. It writes nothing to disk; the
// stream's metadata is plaintext, so the caller seals the parts as they
// come. [Restore] loads such a stream into a new vault with a new key.
package vault
