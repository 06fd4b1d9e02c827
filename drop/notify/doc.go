// Package notify sends protection officers an opt-in daily digest that says
// there is work waiting, and nothing more.
//
// The digest is built so that neither a mail server nor someone watching the
// mail learns anything about the reports behind it:
//
//   - Content-free: the only facts it carries are three counts ([Counts]:
//     new cases, overdue cases, unread reporter messages). No case
//     reference, agency name, report text or submission time is ever put in
//     a digest.
//   - Encrypted: [Compose] encrypts the body to the officer's OpenPGP key
//     (PGP/MIME, RFC 3156). The plaintext never leaves the process; it is
//     built in memory and never written to disk or logged.
//   - Fixed-size: the plaintext is padded to exactly [PlaintextSize] bytes
//     before encryption, compression is off, and session-key packets whose
//     size would vary by chance are re-drawn, so two digests to the same
//     officer are byte-for-byte the same length whatever the counts.
//   - Constant in clear: the Subject is always [Subject]; To carries the bare
//     address (no display name); Message-ID and MIME boundary are random; the
//     Date header is the scheduled hour, never the real time of a report or of
//     the send.
//   - Sent every day: the caller should send the digest every day, also when
//     all counts are zero, or the mere arrival of mail tells that reports
//     came in.
//   - Sent at a fixed hour: [Scheduler] runs the job once a day at Hour:00 in
//     a configured zone, and skips a day rather than send late (see
//     [Scheduler.Grace]), so the send time does not follow report arrivals.
//
// [ParseKey] accepts one public key that can encrypt now, and refuses
// garbage, secret keys, expired and revoked keys and signing-only keys with
// the sentinel errors [ErrNoKey], [ErrSecretKey], [ErrExpired], [ErrRevoked]
// and [ErrCannotEncrypt].
//
// [SMTP.Send] speaks SMTP with implicit TLS or mandatory STARTTLS (no silent
// downgrade); plaintext SMTP is allowed only to a loopback IP. Its Dial hook
// lets the caller route the connection through Tor so the mail relay does not
// learn the drop's address.
package notify
