package web

import (
	"context"
	"net/http"
)

type langKey struct{}

const langCookie = "lang"

// Language picks the language of each request explicitly: a "lang" query
// parameter (the language links on every page) sets it and is remembered in
// a cookie; otherwise the cookie; otherwise def. It ignores Accept-Language:
// Tor Browser asks every site for English, whatever its user reads.
func Language(c *Catalog, def string) func(http.Handler) http.Handler {
	if !c.Has(def) {
		def = DefaultLanguage
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lang := def
			if q := r.URL.Query().Get("lang"); q != "" && c.Has(q) {
				lang = q
				http.SetCookie(w, &http.Cookie{ // #nosec G124 -- plain http by design: an onion address (Tor encrypts) or loopback; Chromium drops Secure cookies there
					Name: langCookie, Value: q, Path: "/", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, MaxAge: 0,
				})
			} else if ck, err := r.Cookie(langCookie); err == nil && c.Has(ck.Value) {
				lang = ck.Value
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, lang)))
		})
	}
}

// Lang is the language chosen for r.
func Lang(r *http.Request) string {
	if l, ok := r.Context().Value(langKey{}).(string); ok {
		return l
	}
	return DefaultLanguage
}
