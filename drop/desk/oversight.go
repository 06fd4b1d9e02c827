package desk

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// The oversight of timeliness (the central body's view of how every
// agency handles its reports) is computed from case metadata only: an
// agency, the current stage, the day the case was opened and the days of
// its stage history. It never reads an item, never opens a case through
// the operations layer, and never carries a case reference out: what
// [oversee] returns has none.

// tally counts one group of cases: one agency in one month of opening,
// or one agency in all months.
type tally struct {
	Opened  int
	Stages  map[string]int // by current stage
	Overdue int            // cases with at least one legal deadline past due today
	ack     []int          // days from opening to the first stage after the initial one
	close   []int          // days from opening to the first day at closed or referred
}

func newTally() *tally { return &tally{Stages: map[string]int{}} }

func (t *tally) add(c vault.Case, overdue bool, ackDays, closeDays int) {
	t.Opened++
	t.Stages[c.Stage]++
	if overdue {
		t.Overdue++
	}
	if ackDays >= 0 {
		t.ack = append(t.ack, ackDays)
	}
	if closeDays >= 0 {
		t.close = append(t.close, closeDays)
	}
}

// Acknowledged and Closed count the cases that were, whatever their
// stage now.
func (t *tally) Acknowledged() int { return len(t.ack) }
func (t *tally) Closed() int       { return len(t.close) }

// AckMedian and CloseMedian are the medians in days, "" when no case
// counts.
func (t *tally) AckMedian() string   { return median(t.ack) }
func (t *tally) CloseMedian() string { return median(t.close) }

// median of days, as a decimal with at most one digit after the point
// (the mean of the two middle values of an even count ends in .5 or .0).
func median(days []int) string {
	if len(days) == 0 {
		return ""
	}
	s := slices.Clone(days)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return strconv.Itoa(s[n/2])
	}
	sum := s[n/2-1] + s[n/2]
	if sum%2 == 0 {
		return strconv.Itoa(sum / 2)
	}
	return strconv.FormatFloat(float64(sum)/2, 'f', 1, 64)
}

// medianValue is median as a number for the chart; ok is false when no
// case counts.
func medianValue(days []int) (float64, bool) {
	m := median(days)
	if m == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(m, 64)
	return v, err == nil
}

// agencyOversight is one agency's tallies: all months, and each month.
type agencyOversight struct {
	Agency string
	All    *tally
	Months map[string]*tally // by month of opening, "2006-01"
}

// sortedMonths lists the months that have cases, oldest first.
func (a *agencyOversight) sortedMonths() []string {
	var ms []string
	for m := range a.Months {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	return ms
}

// oversee counts cases of the agencies in, on day today under policy p.
// A case is overdue when one of its running deadlines is past due; it is
// acknowledged on the first day of its history at a stage other than the
// initial one, and closed on the first day at [stage.Closed] or
// [stage.Referred] (the body is done with it, as the Korean processing
// rule counts it). The result is sorted by agency ID.
func oversee(cases []vault.Case, p stage.Policy, today string, in func(agency string) bool) []*agencyOversight {
	by := map[string]*agencyOversight{}
	for _, c := range cases {
		if !in(c.Agency) {
			continue
		}
		opened, err := time.Parse(time.DateOnly, c.Opened)
		if err != nil {
			continue // a case without a day cannot be placed in a month
		}
		a := by[c.Agency]
		if a == nil {
			a = &agencyOversight{Agency: c.Agency, All: newTally(), Months: map[string]*tally{}}
			by[c.Agency] = a
		}
		month := c.Opened[:7]
		m := a.Months[month]
		if m == nil {
			m = newTally()
			a.Months[month] = m
		}
		overdue := false
		for _, d := range p.Running(c, today) {
			if d.Overdue {
				overdue = true
				break
			}
		}
		ackDays, closeDays := -1, -1
		for _, ev := range c.History {
			d, err := time.Parse(time.DateOnly, ev.Day)
			if err != nil {
				continue
			}
			days := max(0, int(d.Sub(opened).Hours()/24))
			if ackDays < 0 && ev.Stage != vault.InitialStage {
				ackDays = days
			}
			if closeDays < 0 && (ev.Stage == stage.Closed || ev.Stage == stage.Referred) {
				closeDays = days
			}
		}
		a.All.add(c, overdue, ackDays, closeDays)
		m.add(c, overdue, ackDays, closeDays)
	}
	out := make([]*agencyOversight, 0, len(by))
	for _, a := range by {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y *agencyOversight) int { return cmp.Compare(x.Agency, y.Agency) })
	return out
}

// mergeMonths adds up the monthly tallies of several agencies.
func mergeMonths(as []*agencyOversight) map[string]*tally {
	out := map[string]*tally{}
	for _, a := range as {
		for month, t := range a.Months {
			m := out[month]
			if m == nil {
				m = newTally()
				out[month] = m
			}
			m.Opened += t.Opened
			m.Overdue += t.Overdue
			for s, n := range t.Stages {
				m.Stages[s] += n
			}
			m.ack = append(m.ack, t.ack...)
			m.close = append(m.close, t.close...)
		}
	}
	return out
}
