package source

import (
	"slices"

	"filippo.io/age"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// next is the "what happens next" part of the follow-up page: the
// earliest legal deadline still running, or why none runs. Every date in
// it is a day; nothing here shows a time.
type next struct {
	// Key is the message key of the sentence naming the deadline; it takes
	// Due. Empty when no deadline runs.
	Key     string
	Due     string // day
	Left    int    // days until Due
	Late    int    // days after Due, when Overdue
	Overdue bool

	Closed bool
	// Outcome is the officer's note sent with the closing stage change,
	// decrypted with the reply key; OutcomeUnreadable when it would not
	// open.
	Outcome           string
	HasOutcome        bool
	OutcomeUnreadable bool
}

// next works out what the reporter should expect next, as of today.
func (h *handler) next(c vault.Case, reply age.Identity) next {
	if c.Stage == stage.Closed {
		n := next{Closed: true}
		n.Outcome, n.HasOutcome, n.OutcomeUnreadable = h.outcome(c, reply)
		return n
	}
	d, ok := h.cfg.Policy.Next(c, stage.Today(h.cfg.Now()))
	if !ok {
		return next{}
	}
	key := "case.next." + d.Rule
	if !h.cfg.Catalog.HasKey(key) {
		key = "case.next.other"
	}
	n := next{Key: key, Due: d.Due, Left: d.Left, Overdue: d.Overdue}
	if d.Overdue {
		n.Left, n.Late = 0, -d.Left
	}
	return n
}

// outcome is the note the officer sent in the batch that closed the case,
// if any: their explanation of how the case ended.
func (h *handler) outcome(c vault.Case, reply age.Identity) (text string, found, unreadable bool) {
	batch := 0
	for _, ev := range c.History {
		if ev.Stage == stage.Closed {
			batch = ev.Batch // the last time the case was closed
		}
	}
	if batch == 0 {
		return "", false, false
	}
	for _, it := range slices.Backward(c.Items) {
		if it.Batch == batch && it.Kind == vault.KindNote {
			text, ok := h.decrypt(c.Ref, it.ID, reply)
			return text, true, !ok
		}
	}
	return "", false, false
}
