package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"cleandrop/vault/backend"
	"cleandrop/vault/bundle"
)

// Custody actions.
const (
	CustodyOut = bundle.CustodyOut // the case was sent to another agency
	CustodyIn  = bundle.CustodyIn  // the case came from another agency
)

// Custody is one link in a case's chain of custody ([bundle.Custody]).
type Custody = bundle.Custody

// ReferralReasons are the reasons a case may be referred again to an
// agency it was referred to before. They are a fixed list, so the chain of
// custody and the audit log never hold text an officer wrote.
var ReferralReasons = []string{
	"correction",      // the earlier referral was incomplete or wrong
	"new-information", // the reporter added items since
	"not-received",    // the receiving agency did not get or could not open it
	"requested",       // the receiving agency asked for it again
}

// ErrReferredBefore: the case was referred to that agency before, and a
// new referral gives no reason.
var ErrReferredBefore = errors.New("vault: the case was referred to that agency before; a new referral needs a reason")

// ErrReferralReason: a referral reason not in [ReferralReasons].
var ErrReferralReason = errors.New("vault: unknown referral reason")

func validReason(s string) bool { return s == "" || slices.Contains(ReferralReasons, s) }

// referredTo reports whether custody holds a referral out to agency.
func referredTo(custody []Custody, agency string) bool {
	return slices.ContainsFunc(custody, func(l Custody) bool { return l.Action == CustodyOut && l.Agency == agency })
}

// Referral describes a referral for [Store.Refer]. Bundle and Source must
// be set (hex SHA-256) by the time the batch commits.
type Referral struct {
	From    string // the referring case
	Stage   string // its new stage ("" leaves it)
	Bundle  string // hex SHA-256 of the referral bundle
	Source  string // hex SHA-256 of the export manifest
	Officer string
	Reason  string // required when From was referred to the agency before
}

// ErrSameAgency: a case cannot be referred to its own agency.
var ErrSameAgency = bundle.ErrSameAgency

// referral is what a referral batch does to the referring case.
type referral struct {
	Referral
	to  string
	out Custody // the referring case's new link, once committed
}

// Refer starts the first batch of a new case of agency to, received by
// referral from case r.From. Its items are added with [Batch.AddSealed]
// (they were sealed to agency to on the officer's offline machine). Commit
// creates the case and, in the same transaction, records the referral in
// both cases' chain of custody and moves r.From to r.Stage. The new case
// has the referring case's reply recipient but no lookup key: the reporter
// follows it through the referring case.
func (s *Store) Refer(to string, r Referral) (*Batch, error) {
	a, ok := s.agencies[to]
	if !ok {
		return nil, ErrUnknownAgency
	}
	var from caseRecord
	err := s.view(func(tx backend.Tx) error {
		var err error
		from, err = s.loadRecord(tx, normalizeRef(r.From))
		return err
	})
	if err != nil {
		return nil, err
	}
	if from.Agency == to {
		return nil, ErrSameAgency
	}
	if !validReason(r.Reason) {
		return nil, ErrReferralReason
	}
	switch again := referredTo(from.Custody, to); {
	case r.Reason == "" && again:
		return nil, ErrReferredBefore
	case r.Reason != "" && !again: // a reason says why again; a first referral has none
		return nil, ErrReferralReason
	}
	r.From = from.Ref
	b := &Batch{s: s, agency: a, refer: &referral{Referral: r, to: to}, aborted: make(chan struct{})}
	// The reporter follows the new case through the referring one: it gets
	// their reply key (public), so its officers can write to them, but no
	// lookup key of its own.
	if rr := from.Access.ReplyRecipient; rr != "" {
		if b.reply, err = parseRecipient(rr); err != nil {
			return nil, fmt.Errorf("vault: refer: %w", err)
		}
		b.acc.ReplyRecipient = rr
	}
	return b, nil
}

// commit records the referral in the new case rec and in the referring
// case, inside tx. It may run more than once: it changes nothing outside
// tx but r.out, which the last run sets.
func (r *referral) commit(s *Store, tx backend.Tx, rec *caseRecord, items int, day string) error {
	if !bundle.ValidSum(r.Bundle) || !bundle.ValidSum(r.Source) {
		return errors.New("vault: refer: bad checksum")
	}
	from, err := s.loadRecord(tx, r.From)
	if err != nil {
		return err
	}
	// Checked again here, in the transaction: two referrals filed at once
	// cannot both be first.
	if r.Reason == "" && referredTo(from.Custody, r.to) {
		return ErrReferredBefore
	}
	link := Custody{Day: day, Bundle: r.Bundle, Source: r.Source, Items: items, Officer: r.Officer, Reason: r.Reason}
	in, out := link, link
	in.Action, in.Agency, in.Ref = CustodyIn, from.Agency, from.Ref
	out.Action, out.Agency, out.Ref = CustodyOut, r.to, rec.Ref
	rec.Custody = append(rec.Custody, in)
	from.Custody = append(from.Custody, out)
	r.out = out
	from.Updated = day
	if r.Stage != "" && r.Stage != from.Stage {
		from.Batches++
		from.Stage = r.Stage
		from.History = append(from.History, Event{Day: day, Stage: r.Stage, Batch: from.Batches})
	}
	v, err := json.Marshal(from)
	if err != nil {
		return err
	}
	if err := s.put(tx, s.k.caseKey(from.Ref), v); err != nil {
		return dbErr("refer: write case", err)
	}
	return nil
}
