// Package web holds what the reporter and officer interfaces share: the
// message catalogue ([Catalog]), server-rendered pages ([Renderer]), the
// security headers every response carries ([Secure], and [Guard] for the
// errors net/http writes by itself), cross-origin protection, explicit
// language choice ([Language]), sessions ([Sessions]) and the
// bounds on request bodies: a body that stalls is cut ([IdleBody]) and
// uploads served at once are bounded ([Uploads]).
// It also holds the limits that keep anyone from locking others out: the
// circuit a connection came on, read from tor's PROXY line
// ([CircuitListener], [Circuit]); failure budgets taken before the work
// ([Bucket], [Buckets]); and the fair queue in front of the argon2
// derivations ([Fair]). A circuit id is kept in memory only and never
// logged.
//
// Nothing here logs a request. Sessions and failure budgets live in memory
// ([NewSessions], [Buckets]), where their secrets die with the process,
// unless a deployment of several front-ends keeps them in a shared
// [Records] store ([NewSharedSessions], [SharedBuckets]): a session there
// is sealed under a key derived from its cookie and named by an HMAC of
// it, so the store never holds a cookie or an open session value, and
// its times are whole minutes. Pages need no JavaScript and
// load nothing from a third party: the only asset is the embedded style
// sheet served from the same origin.
package web
