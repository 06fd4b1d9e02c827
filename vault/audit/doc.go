// Package audit keeps an append-only, tamper-evident log of what officers
// do on the drop: who logged in, viewed a case, changed a stage, asked a
// question, exported a bundle, imported a referral, created or revoked an
// account, and so on.
//
// # What it writes
//
// A [Log] lives in three files in one directory, all mode 0600:
//
//   - audit.log: one JSON object a line, one line an [Entry]. Each line
//     carries its sequence number (1, 2, 3, ...), the SHA-256 of the line
//     before it ("prev"; 64 zeros for the first) and an HMAC-SHA256 ("mac")
//     over the line without its mac field.
//   - audit.key: 32 random bytes, the HMAC key, made on first [Open].
//   - audit.head: the sequence number and SHA-256 of the last line, with
//     its own HMAC, replaced atomically after every append.
//
// The hash chain makes an edited, removed, inserted, duplicated or moved
// line show; the MAC stops someone who can write audit.log but cannot read
// audit.key from rebuilding the chain after an edit; the head makes a cut-off
// tail show. [Verify] checks all three and names the first bad line.
//
// # What it promises
//
// [Log.Append] returns only after its line has been written and synced to
// disk, and the head replaced and synced: an acknowledged entry is never
// lost. [Log.Close] writes the entries still waiting for a tick. A half-written line left by a crash is never silently dropped or
// appended to: [Open] refuses with a [Problem] whose Hint says what to do.
// [Open] verifies the whole log and refuses to append to a log that fails
// verification. Concurrent use of one [Log] is safe, and a lock keeps a
// second process from opening the same directory (on Unix). [Verify] only
// reads, so it can run while the server appends.
//
// The log dates entries by day only ("2006-01-02", UTC): nothing in it is
// more precise, so it cannot be matched against the times of reporters'
// visits. Nor are its files' times: a server puts the log on the vault's
// schedule with [Log.Tick] (cmd wires it to the vault's tick hook; this
// package imports nothing of the vault). From the first tick on, [Log.Append]
// waits for the next tick, which writes the waiting entries and then sets
// the modification time of audit.log, audit.head and the directory to the
// tick, whether or not anything was written: their change and birth times
// (audit.head is replaced at each write) are a tick's too. A log without a
// schedule writes at once and sets its files' times to the day. An entry holds who (an officer's name or "admin"), what (a short
// action name such as "stage.change"), optionally a case reference and a
// short detail. Never put report content, receipts, passphrases or
// passwords, file names, network addresses or anything else a reporter
// wrote into an entry: the log is readable by supervisors and is not
// encrypted. [Log.Append] rejects control characters and over-long fields,
// but cannot tell what is sensitive; callers must.
//
// # In a shared store
//
// Front-ends that share one vault (PostgreSQL and a bucket) share one log:
// [OpenLines] keeps the same lines and head in a [Lines] store instead of
// files, and every [Log.Append] reads and advances the head and writes the
// line in one serializable transaction, so the front-ends append to one
// chain with no gap or fork. [VerifyLines] checks it as [Verify] checks
// files. The key is given by the caller (the vault derives it from its
// own key); such a log has no files, no file times and no [Log.Backup].
//
// # What it does not promise
//
// Anyone who can read audit.key can forge a consistent log, and anyone who
// can put back an older copy of all of audit.log and audit.head together
// rolls the log back undetectably. Deleting all three files looks like a
// fresh drop. Keep the count that [Verify] reports somewhere else (a
// supervisor's notes, a printed page) to catch both. A backup
// ([Log.Backup]) holds the key too: whoever holds a backup and its key can
// forge a log as well as restore one.
package audit
