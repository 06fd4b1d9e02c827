package stage

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"cleandrop/vault"
)

// Stages the drop itself acts on, when a deployment's stages have them: a
// referral moves the referring case to Referred; a case at Closed runs no
// deadline and shows the reporter its outcome.
const (
	Referred = "referred"
	Closed   = "closed"
)

// Default stages, in their usual order. A case starts at the first.
var Default = []string{vault.InitialStage, "acknowledged", "review", "investigating", Referred, Closed}

// A Rule is one legal deadline: it starts on the day the case enters From
// (or, if From is empty, the day the case was opened) and is met once the
// case reaches any stage in Met. Its length is Days plus Months.
type Rule struct {
	Name   string   `json:"name"` // message key suffix: "deadline.<name>"
	From   string   `json:"from,omitempty"`
	Met    []string `json:"met"`
	Days   int      `json:"days,omitempty"`
	Months int      `json:"months,omitempty"`
	// Fallback, when set, starts the clock at the deadline of the named
	// rule if From was never entered (EU: feedback 3 months after the
	// 7-day acknowledgement period when no acknowledgement was sent).
	Fallback string `json:"fallback,omitempty"`
}

// Policy is a deployment's stages and deadlines.
type Policy struct {
	Name   string   `json:"name"`
	Stages []string `json:"stages"`
	Rules  []Rule   `json:"rules"`
}

// EU follows Directive (EU) 2019/1937, Article 9(1)(b) and (f).
var EU = Policy{
	Name:   "eu",
	Stages: Default,
	Rules: []Rule{
		{Name: "acknowledge", Met: []string{"acknowledged", "review", "investigating", "referred", "closed"}, Days: 7},
		{Name: "feedback", From: "acknowledged", Fallback: "acknowledge", Met: []string{"investigating", "referred", "closed"}, Months: 3},
	},
}

// Korea gives 60 days to process a report, as the Korean anti-corruption
// reporting rules do.
var Korea = Policy{
	Name:   "kr",
	Stages: Default,
	Rules: []Rule{
		{Name: "process", Met: []string{"referred", "closed"}, Days: 60},
	},
}

// Profiles are the built-in policies by name.
var Profiles = map[string]Policy{"eu": EU, "kr": Korea}

// Check reports a policy that cannot work.
func (p Policy) Check() error {
	if len(p.Stages) == 0 {
		return errors.New("no stages")
	}
	seen := map[string]bool{}
	for _, s := range p.Stages {
		if s == "" || seen[s] {
			return fmt.Errorf("stage %q is empty or listed twice", s)
		}
		seen[s] = true
	}
	if p.Stages[0] != vault.InitialStage {
		return fmt.Errorf("the first stage must be %q", vault.InitialStage)
	}
	names := map[string]bool{}
	for _, r := range p.Rules {
		if r.Name == "" || names[r.Name] {
			return fmt.Errorf("deadline rule %q is unnamed or listed twice", r.Name)
		}
		names[r.Name] = true
		if r.Days < 0 || r.Months < 0 || r.Days+r.Months == 0 {
			return fmt.Errorf("deadline %q has no length", r.Name)
		}
		if r.From != "" && !seen[r.From] {
			return fmt.Errorf("deadline %q starts at unknown stage %q", r.Name, r.From)
		}
		if len(r.Met) == 0 {
			return fmt.Errorf("deadline %q is never met", r.Name)
		}
		for _, m := range r.Met {
			if !seen[m] {
				return fmt.Errorf("deadline %q is met at unknown stage %q", r.Name, m)
			}
		}
	}
	for _, r := range p.Rules {
		if r.Fallback != "" && !names[r.Fallback] {
			return fmt.Errorf("deadline %q falls back to unknown rule %q", r.Name, r.Fallback)
		}
	}
	return nil
}

// Has reports whether s is one of the policy's stages.
func (p Policy) Has(s string) bool { return slices.Contains(p.Stages, s) }

// Deadline is one running legal deadline of a case.
type Deadline struct {
	Rule    string
	Due     string // day
	Left    int    // days from today to Due; negative when overdue
	Overdue bool
}

// Next returns the earliest deadline of c that is not met yet, as of
// today, or false when none runs.
func (p Policy) Next(c vault.Case, today string) (Deadline, bool) {
	all := p.Running(c, today)
	if len(all) == 0 {
		return Deadline{}, false
	}
	return all[0], true
}

// Running returns every deadline of c not met yet, earliest first.
func (p Policy) Running(c vault.Case, today string) []Deadline {
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return nil
	}
	var out []Deadline
	for _, r := range p.Rules {
		due, ok := p.due(c, r, 0)
		if !ok || p.met(c, r) {
			continue
		}
		left := int(due.Sub(t).Hours() / 24)
		out = append(out, Deadline{Rule: r.Name, Due: due.Format(time.DateOnly), Left: left, Overdue: left < 0})
	}
	slices.SortStableFunc(out, func(a, b Deadline) int { return a.Left - b.Left })
	return out
}

// due is when rule r falls due for c, if its clock has started.
func (p Policy) due(c vault.Case, r Rule, depth int) (time.Time, bool) {
	var start time.Time
	var ok bool
	if r.From == "" {
		start, ok = day(c.Opened)
	} else {
		for _, ev := range c.History {
			if ev.Stage == r.From {
				start, ok = day(ev.Day)
				break
			}
		}
		if !ok && r.Fallback != "" && depth < len(p.Rules) {
			for _, fr := range p.Rules {
				if fr.Name == r.Fallback {
					start, ok = p.due(c, fr, depth+1)
				}
			}
		}
	}
	if !ok {
		return time.Time{}, false
	}
	return addMonths(start, r.Months).AddDate(0, 0, r.Days), true
}

// addMonths adds n calendar months and, when the target month is too short
// for the starting day, ends on its last day: three months from 30
// November is 28 (or 29) February, not 2 March. This is how the EU's rules
// on periods (Regulation 1182/71, Art. 3(2)(c)) and Korea's Civil Act
// (Art. 160(3)) count months; time.AddDate would roll into March.
func addMonths(t time.Time, n int) time.Time {
	if n == 0 {
		return t
	}
	first := time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(t.Day(), last)-1)
}

// met reports whether c has reached a stage that meets r.
func (p Policy) met(c vault.Case, r Rule) bool {
	for _, ev := range c.History {
		if slices.Contains(r.Met, ev.Stage) {
			return true
		}
	}
	return slices.Contains(r.Met, c.Stage)
}

func day(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// Today is the current day in UTC.
func Today(now time.Time) string { return now.UTC().Format(time.DateOnly) }
