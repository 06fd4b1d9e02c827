// Package web holds what the reporter and officer interfaces share: the
// message catalogue ([Catalog]), server-rendered pages ([Renderer]), the
// security headers every response carries ([Secure]), cross-origin
// protection, explicit language choice ([Language]) and in-memory sessions
// ([Sessions]).
//
// Nothing here writes to disk or logs a request. Sessions live in memory
// only; their secrets die with the process. Pages need no JavaScript and
// load nothing from a third party: the only asset is the embedded style
// sheet served from the same origin.
package web
