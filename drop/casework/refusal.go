package casework

import (
	"errors"
	"net/http"

	"cleandrop/vault"
)

// A Refusal is what an interface answers for an operation the layer
// refused: the HTTP status, the same on every path, and an id that each
// interface words its own way (the desk in the officer's language, the
// control socket for the administrator).
type Refusal struct {
	Status int
	ID     string // "not_found", "no_item", "forbidden", "stage", ...
}

// The ids of [Refusal].
const (
	RefusedNoItem     = "no_item"
	RefusedNotFound   = "not_found"
	RefusedForbidden  = "forbidden"
	RefusedStage      = "stage"
	RefusedSameStage  = "same_stage"
	RefusedEmpty      = "empty"
	RefusedTooLong    = "too_long"
	RefusedNotText    = "not_text"
	RefusedIdentity   = "identity"
	RefusedNoIdentity = "no_identity"
	RefusedNoReporter = "no_reporter"
	// The vault's storage: the commit's answer was lost (it may have
	// landed: look before doing it again), it failed (nothing changed),
	// or it had no room.
	RefusedUncertain = "uncertain"
	RefusedStorage   = "storage"
	RefusedNoRoom    = "no_room"
	RefusedLowSpace  = "low_space"
)

// Refused tells whether err is a refusal, and which; ok is false for any
// other error (an internal one).
func Refused(err error) (r Refusal, ok bool) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNoItem):
		return Refusal{http.StatusNotFound, RefusedNoItem}, true
	case errors.Is(err, vault.ErrNotFound):
		return Refusal{http.StatusNotFound, RefusedNotFound}, true
	case errors.Is(err, ErrForbidden):
		return Refusal{http.StatusForbidden, RefusedForbidden}, true
	case errors.Is(err, ErrStage):
		return Refusal{http.StatusBadRequest, RefusedStage}, true
	case errors.Is(err, ErrSameStage):
		return Refusal{http.StatusConflict, RefusedSameStage}, true
	case errors.Is(err, ErrEmpty):
		return Refusal{http.StatusBadRequest, RefusedEmpty}, true
	case errors.Is(err, ErrTooLong), errors.As(err, &tooBig):
		return Refusal{http.StatusRequestEntityTooLarge, RefusedTooLong}, true
	case errors.Is(err, ErrNotText):
		return Refusal{http.StatusBadRequest, RefusedNotText}, true
	case errors.Is(err, ErrIdentity):
		return Refusal{http.StatusForbidden, RefusedIdentity}, true
	case errors.Is(err, ErrNoIdentity):
		return Refusal{http.StatusNotFound, RefusedNoIdentity}, true
	case errors.Is(err, vault.ErrNoReporter):
		return Refusal{http.StatusConflict, RefusedNoReporter}, true
	case errors.Is(err, vault.ErrUncertain):
		return Refusal{http.StatusServiceUnavailable, RefusedUncertain}, true
	case errors.Is(err, vault.ErrLowSpace):
		return Refusal{http.StatusInsufficientStorage, RefusedLowSpace}, true
	case errors.Is(err, vault.ErrNoSpace):
		return Refusal{http.StatusInsufficientStorage, RefusedNoRoom}, true
	case errors.Is(err, vault.ErrStorage):
		return Refusal{http.StatusServiceUnavailable, RefusedStorage}, true
	}
	return Refusal{}, false
}
