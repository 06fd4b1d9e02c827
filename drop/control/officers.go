package control

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Officers is what the control API needs to manage officer accounts. The
// desk implements the accounts; cmd supplies the onion client keys.
type Officers interface {
	// Add makes an account and returns what the new officer needs: the
	// one-time enrolment token and, when the officer onion is in use, the
	// client-authorization line for Tor Browser.
	Add(name, role string, agencies []string) (NewOfficer, error)
	Revoke(name string) error
	List() ([]OfficerInfo, error)
	// SetDigest turns an officer's daily notification digest on (with an
	// address and an armored OpenPGP public key) or off (both empty).
	SetDigest(name string, req DigestRequest) (DigestReply, error)
	// SendDigest sends the officer one digest now and says whether the
	// mail server took it.
	SendDigest(name string) (DigestReply, error)
	// Token makes a bearer token for the desk's JSON API, acting as the
	// officer; it is returned once.
	Token(name, label string) (string, error)
}

// TokenRequest is the body of POST /v1/officers/{name}/tokens.
type TokenRequest struct {
	Label string `json:"label"`
}

// NewToken answers a token's creation. It is shown once.
type NewToken struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Token string `json:"token"`
}

// OfficerRequest is the body of POST /v1/officers.
type OfficerRequest struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Agencies []string `json:"agencies"`
}

// NewOfficer answers an officer's creation. It is shown once.
type NewOfficer struct {
	Name       string `json:"name"`
	EnrolToken string `json:"enrol_token"`
	EnrolPath  string `json:"enrol_path"`
	DeskOnion  string `json:"desk_onion,omitempty"`
	ClientAuth string `json:"client_auth,omitempty"` // <onion>:descriptor:x25519:<private key>
	Note       string `json:"note,omitempty"`
}

// OfficerInfo is an officer as listed, without secrets.
type OfficerInfo struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Agencies []string `json:"agencies"`
	Revoked  bool     `json:"revoked"`
	Onion    bool     `json:"onion_access"`
	Digest   bool     `json:"digest"` // opted in to the notification digest
}

// DigestRequest is the body of PUT /v1/officers/{name}/digest.
type DigestRequest struct {
	Email string `json:"email"`
	Key   string `json:"key"` // armored OpenPGP public key
	// Language is the digest's language, "" for the deployment's default.
	Language string `json:"language,omitempty"`
}

// DigestReply answers a digest change or a send.
type DigestReply struct {
	Name string `json:"name"`
	On   bool   `json:"on"`
	Sent bool   `json:"sent,omitempty"`
	Note string `json:"note,omitempty"`
}

// maxDigestRequest bounds a digest request; an armored public key with
// its signatures is rarely more than a few KiB.
const maxDigestRequest = 256 << 10

func (a *api) officerRoutes(r chi.Router, off Officers) {
	r.Route("/v1/officers", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, r *http.Request) {
			list, err := off.List()
			if err != nil {
				a.internal(w, "list officers", err)
				return
			}
			writeJSON(w, http.StatusOK, list)
		})
		r.Post("/", func(w http.ResponseWriter, r *http.Request) {
			var req OfficerRequest
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeErr(w, http.StatusBadRequest, "officer request is not valid JSON", "")
				return
			}
			n, err := off.Add(req.Name, req.Role, req.Agencies)
			a.reply(w, "add officer", n, err)
		})
		r.Delete("/{name}", func(w http.ResponseWriter, r *http.Request) {
			name := chi.URLParam(r, "name")
			a.reply(w, "revoke officer", map[string]string{"revoked": name}, off.Revoke(name))
		})
		r.Put("/{name}/digest", func(w http.ResponseWriter, r *http.Request) {
			var req DigestRequest
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxDigestRequest))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeErr(w, http.StatusBadRequest, "digest request is not valid JSON or too long", "")
				return
			}
			if req.Email == "" || req.Key == "" {
				writeErr(w, http.StatusBadRequest, "digest request needs an address and a key", "")
				return
			}
			d, err := off.SetDigest(chi.URLParam(r, "name"), req)
			a.reply(w, "set digest", d, err)
		})
		r.Delete("/{name}/digest", func(w http.ResponseWriter, r *http.Request) {
			d, err := off.SetDigest(chi.URLParam(r, "name"), DigestRequest{})
			a.reply(w, "set digest", d, err)
		})
		r.Post("/{name}/tokens", func(w http.ResponseWriter, r *http.Request) {
			var req TokenRequest
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				writeErr(w, http.StatusBadRequest, "token request is not valid JSON", "")
				return
			}
			name := chi.URLParam(r, "name")
			tok, err := off.Token(name, req.Label)
			a.reply(w, "new token", NewToken{Name: name, Label: strings.TrimSpace(req.Label), Token: tok}, err)
		})
		r.Post("/{name}/digest/send", func(w http.ResponseWriter, r *http.Request) {
			d, err := off.SendDigest(chi.URLParam(r, "name"))
			a.reply(w, "send digest", d, err)
		})
	})
}

// reply answers v, or err: a [UserError] as 400 with its hint, any other
// error as 500.
func (a *api) reply(w http.ResponseWriter, step string, v any, err error) {
	var ue *UserError
	switch {
	case errors.As(err, &ue):
		writeErr(w, http.StatusBadRequest, ue.Msg, ue.Hint)
	case err != nil:
		a.internal(w, step, err)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// UserError is an error the administrator caused and can fix.
type UserError struct{ Msg, Hint string }

func (e *UserError) Error() string { return e.Msg }

// AddOfficer creates an officer account.
func (c *Client) AddOfficer(req OfficerRequest) (NewOfficer, error) {
	var out NewOfficer
	err := c.json(http.MethodPost, "/v1/officers/", req, &out)
	return out, err
}

// Officers lists the officer accounts.
func (c *Client) Officers() ([]OfficerInfo, error) {
	var out []OfficerInfo
	err := c.json(http.MethodGet, "/v1/officers/", nil, &out)
	return out, err
}

// RevokeOfficer revokes an officer: no more sign-in, no more onion access.
func (c *Client) RevokeOfficer(name string) error {
	var out map[string]string
	return c.json(http.MethodDelete, officerPath(name), nil, &out)
}

// officerPath is the API path of one officer.
func officerPath(name string) string {
	return "/v1/officers/" + url.PathEscape(strings.TrimSpace(name))
}

func digestPath(name string) string { return officerPath(name) + "/digest" }

// SetDigest turns an officer's notification digest on: to the bare
// address email, encrypted to the armored OpenPGP public key key, written
// in lang ("" for the deployment's default language).
func (c *Client) SetDigest(name, email, key, lang string) (DigestReply, error) {
	var out DigestReply
	err := c.json(http.MethodPut, digestPath(name), DigestRequest{Email: email, Key: key, Language: lang}, &out)
	return out, err
}

// DigestOff turns an officer's notification digest off.
func (c *Client) DigestOff(name string) (DigestReply, error) {
	var out DigestReply
	err := c.json(http.MethodDelete, digestPath(name), nil, &out)
	return out, err
}

// SendDigest sends an officer one digest now.
func (c *Client) SendDigest(name string) (DigestReply, error) {
	var out DigestReply
	err := c.json(http.MethodPost, digestPath(name)+"/send", nil, &out)
	return out, err
}
