package vault

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Custody actions.
const (
	CustodyOut = "referred-out" // the case was sent to another agency
	CustodyIn  = "referred-in"  // the case came from another agency
)

// Custody is one link in a case's chain of custody: the case was referred
// to, or received from, another agency's case. Bundle is the SHA-256 of
// the referral bundle as the desk received it, so both agencies can show
// they hold the same thing; Source is the SHA-256 of the signed export
// manifest the referral was made from.
type Custody struct {
	Day     string `json:"day"`
	Action  string `json:"action"`        // CustodyOut or CustodyIn
	Agency  string `json:"agency"`        // the other agency
	Ref     string `json:"ref"`           // the other case
	Bundle  string `json:"bundle_sha256"` // the referral bundle
	Source  string `json:"source_sha256"` // the export manifest it was made from
	Items   int    `json:"items"`         // items carried
	Officer string `json:"officer"`       // who filed the referral on the desk
}

// Incoming reports whether the case came by this link (rather than left).
func (l Custody) Incoming() bool { return l.Action == CustodyIn }

// Summary is the link in one line of English, for the offline thread and
// the logs of the officer's machine.
func (l Custody) Summary() string {
	dir := "referred to"
	if l.Incoming() {
		dir = "received by referral from"
	}
	by := ""
	if l.Officer != "" {
		by = " by " + l.Officer
	}
	return fmt.Sprintf("%s %s case %s%s: %d items, referral bundle sha256 %s, made from export manifest sha256 %s",
		dir, l.Agency, l.Ref, by, l.Items, l.Bundle, l.Source)
}

// Referral describes a referral for [Store.Refer]. Bundle and Source must
// be set (hex SHA-256) by the time the batch commits.
type Referral struct {
	From    string // the referring case
	Stage   string // its new stage ("" leaves it)
	Bundle  string // hex SHA-256 of the referral bundle
	Source  string // hex SHA-256 of the export manifest
	Officer string
}

// ErrSameAgency: a case cannot be referred to its own agency.
var ErrSameAgency = errors.New("vault: a case cannot be referred to its own agency")

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
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		from, err = loadRecord(txn, normalizeRef(r.From))
		return err
	})
	if err != nil {
		return nil, err
	}
	if from.Agency == to {
		return nil, ErrSameAgency
	}
	r.From = from.Ref
	b := &Batch{s: s, agency: a, refer: &referral{Referral: r, to: to}}
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
// case, inside txn.
func (r *referral) commit(txn *badger.Txn, rec *caseRecord, items int, day string) error {
	if !validSum(r.Bundle) || !validSum(r.Source) {
		return errors.New("vault: refer: bad checksum")
	}
	from, err := loadRecord(txn, r.From)
	if err != nil {
		return err
	}
	link := Custody{Day: day, Bundle: r.Bundle, Source: r.Source, Items: items, Officer: r.Officer}
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
	if err := txn.Set(caseKey(from.Ref), v); err != nil {
		return fmt.Errorf("vault: refer: %w", err)
	}
	return nil
}
