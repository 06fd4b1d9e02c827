// Package vault keeps cases and their items, sealed with age, on local disk.
//
// A [Store] never writes plaintext to disk. Every item is sealed with
// age as it streams in through the writer that [Batch.Add] returns: to the
// recipients of the case's [Agency], and for [KindQuestion] and [KindNote]
// also to the case's [Access.ReplyRecipient]. Attachment names are sealed the
// same way. The server holds only public keys, so it cannot read what it
// stores. Case metadata lives in Badger, encrypted at rest with a random key
// kept in vault.key (mode 0600) beside it.
//
// Memory stays flat whatever the size of an item. Sealed ciphertext of at
// most 64 KiB is kept in memory and stored inline in Badger; anything bigger
// streams to a temporary blob file that becomes visible only when its batch
// commits.
//
// Nothing exists before [Batch.Commit]. A batch is committed in one Badger
// transaction, only after every sealing writer has been closed, and only
// after its blob files have been synced, renamed and their directory synced.
// [Batch.Abort], or a crash, leaves nothing: [Open] sweeps temporary files and
// blob files that no committed item references.
//
// Stored times are days ("2006-01-02", UTC), taken from [Options.Now]; blob
// files carry midnight of that day as their modification time. The store
// logs counts only: never a case reference, a name or a size at Info.
//
// [Store.Export] writes a case as a tar bundle of ciphertext with a manifest
// of sizes and SHA-256 sums; [OpenBundle] checks such a bundle completely
// before it decrypts it on the officer's offline machine. Every sealed item
// is a plain binary age file that the stock age command can decrypt.
package vault
