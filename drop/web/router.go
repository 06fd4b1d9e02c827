package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// FailFunc answers a refused request with a page: the status and the
// message key of what went wrong.
type FailFunc func(w http.ResponseWriter, r *http.Request, status int, key string)

// NewRouter is the router every interface of the drop starts from: the
// security headers, the visitor's language from cat (default def), and
// fail for cross-origin posts ("error.cross_origin", 403), unknown paths
// ("error.not_found", 404) and wrong methods ("error.method", 405).
func NewRouter(cat *Catalog, def string, fail FailFunc) chi.Router {
	r := chi.NewRouter()
	r.Use(Secure, Language(cat, def))
	r.Use(CrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusForbidden, "error.cross_origin")
	})))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusNotFound, "error.not_found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusMethodNotAllowed, "error.method")
	})
	return r
}
