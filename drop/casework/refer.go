package casework

import (
	"io"
	"slices"
	"strings"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// ReferralReasons are the reasons an officer may give for referring a
// case again to an agency it went to before ([vault.ReferralReasons]).
func ReferralReasons() []string { return slices.Clone(vault.ReferralReasons) }

// Refer files a referral bundle made on the offline machine ("cleandrop
// refer") from case c (loaded with [Desk.Load]). The vault checks it
// against c as it streams in and commits it as the receiving agency's new
// case; c moves to the referred stage when the policy has one. reason is
// "" for a first referral to that agency and one of [ReferralReasons]
// otherwise ([vault.ErrReferredBefore]).
func (d *Desk) Refer(a Actor, c vault.Case, body io.Reader, reason string) (vault.Custody, error) {
	if !a.caseOfficer() {
		return vault.Custody{}, ErrForbidden
	}
	reason = strings.TrimSpace(reason)
	if reason != "" && !slices.Contains(vault.ReferralReasons, reason) {
		return vault.Custody{}, ErrReason
	}
	stg := ""
	if d.policy.Has(stage.Referred) {
		stg = stage.Referred
	}
	link, err := d.st.ReceiveReferral(body, c.Ref, vault.ReceiveOptions{Stage: stg, Officer: a.Name, Reason: reason})
	if err != nil {
		d.recordUncertain(a, "case.refer", c.Ref, "", err)
		return link, err
	}
	again := ""
	if reason != "" {
		again = " again: " + reason
	}
	d.record(a, "case.refer", c.Ref, "to "+link.Agency+" "+link.Ref+" bundle "+link.Bundle[:16]+again)
	d.record(a, "case.referred_in", link.Ref, "from "+c.Agency+" "+c.Ref+" bundle "+link.Bundle[:16]+again)
	return link, nil
}
