package web

import "net/http"

// CrossOrigin rejects state-changing requests that a browser marks as
// coming from another origin (Sec-Fetch-Site, Origin). It reads no body, so
// it never touches an upload stream. deny renders the refusal.
func CrossOrigin(deny http.Handler) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	return cop.Handler
}
