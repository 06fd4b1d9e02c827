package web

import "net/http"

// CSP allows only same-origin style sheets and images, and no script at all.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders are set on every response of both interfaces.
//
// Referrer-Policy is "same-origin", not "no-referrer": under "no-referrer" a
// browser sends "Origin: null" even on our own form posts, and where it
// also sends no Sec-Fetch-Site (Chromium on an http .onion, which it does
// not count as a secure context) cross-origin protection could no longer
// tell our forms from another site's. "same-origin" still sends nothing to
// any other site, and the server never reads or logs the Referer.
var SecurityHeaders = map[string]string{
	"Content-Security-Policy":      CSP,
	"Referrer-Policy":              "same-origin",
	"Cache-Control":                "no-store",
	"Pragma":                       "no-cache",
	"X-Frame-Options":              "DENY",
	"X-Content-Type-Options":       "nosniff",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

// Secure sets [SecurityHeaders] on every response and strips validators
// (ETag, Last-Modified) that could tie two visits together.
func Secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range SecurityHeaders {
			h.Set(k, v)
		}
		next.ServeHTTP(&noValidators{ResponseWriter: w}, r)
	})
}

type noValidators struct {
	http.ResponseWriter
	wrote bool
}

func (w *noValidators) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Del("ETag")
		w.Header().Del("Last-Modified")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noValidators) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *noValidators) Unwrap() http.ResponseWriter { return w.ResponseWriter }
