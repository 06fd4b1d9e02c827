// Package notifytest holds test helpers for the digest: [StartServer], a
// small but real SMTP server on 127.0.0.1 that keeps what it receives in
// memory, and [NewGPG], a throw-away GnuPG home to make keys and decrypt
// digests with the stock gpg command.
//
// It is for tests only. The server accepts any AUTH PLAIN and relays
// nothing.
package notifytest
