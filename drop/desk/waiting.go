package desk

import (
	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// Waiting is the work that waits for one officer, counted over the cases
// of their agencies. It is all an officer's notification digest says.
type Waiting struct {
	New     int // cases still at the first stage (nobody acknowledged them yet)
	Overdue int // cases with at least one legal deadline past due
	Unread  int // reporter items (report, answers, files) the officer has not opened
}

// CountWaiting counts what waits for o among cases (all of the drop's:
// load them once for all officers) on day today (YYYY-MM-DD, UTC, as
// [stage.Today] gives it) under policy p. "Unread" follows the desk's own
// marks in st: an item is read once the officer opened its case on the
// desk.
func CountWaiting(st Store, cases []vault.Case, p stage.Policy, o Officer, today string) (Waiting, error) {
	var w Waiting
	for _, c := range cases {
		if !o.mayRead(c.Agency) {
			continue
		}
		if c.Stage == vault.InitialStage {
			w.New++
		}
		for _, d := range p.Running(c, today) {
			if d.Overdue {
				w.Overdue++
				break
			}
		}
		n, err := unread(st, o.Name, c)
		if err != nil {
			return w, err
		}
		w.Unread += n
	}
	return w, nil
}
