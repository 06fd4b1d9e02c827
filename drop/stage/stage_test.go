package stage

import (
	"testing"

	"cleandrop/vault"
)

func mkCase(opened string, events ...string) vault.Case {
	c := vault.Case{Opened: opened, Stage: vault.InitialStage, History: []vault.Event{{Day: opened, Stage: vault.InitialStage, Batch: 1}}}
	for i := 0; i+1 < len(events); i += 2 {
		c.History = append(c.History, vault.Event{Day: events[i], Stage: events[i+1]})
		c.Stage = events[i+1]
	}
	return c
}

func TestBuiltInPoliciesAreValid(t *testing.T) {
	for name, p := range Profiles {
		if err := p.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		c       vault.Case
		today   string
		want    Deadline
		running bool
	}{
		{"eu new case", EU, mkCase("2026-01-10"), "2026-01-12", Deadline{"acknowledge", "2026-01-17", 5, false}, true},
		{"eu overdue acknowledgement", EU, mkCase("2026-01-10"), "2026-01-20", Deadline{"acknowledge", "2026-01-17", -3, true}, true},
		{"eu acknowledged: feedback in 3 months", EU, mkCase("2026-01-10", "2026-01-12", "acknowledged"), "2026-01-12", Deadline{"feedback", "2026-04-12", 90, false}, true},
		{"eu skipped acknowledgement: feedback 3 months after day 7", EU, mkCase("2026-01-10", "2026-01-30", "review"), "2026-02-01", Deadline{"feedback", "2026-04-17", 75, false}, true},
		{"eu investigating: nothing runs", EU, mkCase("2026-01-10", "2026-01-12", "acknowledged", "2026-02-01", "investigating"), "2026-02-02", Deadline{}, false},
		{"eu feedback from 30 November ends on the last day of February", EU, mkCase("2026-11-28", "2026-11-30", "acknowledged"), "2026-12-01", Deadline{"feedback", "2027-02-28", 89, false}, true},
		{"eu feedback from 31 May ends on 31 August", EU, mkCase("2026-05-29", "2026-05-31", "acknowledged"), "2026-06-01", Deadline{"feedback", "2026-08-31", 91, false}, true},
		{"eu feedback from 30 November in a leap year", EU, mkCase("2027-11-28", "2027-11-30", "acknowledged"), "2027-11-30", Deadline{"feedback", "2028-02-29", 91, false}, true},
		{"kr 60 days", Korea, mkCase("2026-03-01"), "2026-03-01", Deadline{"process", "2026-04-30", 60, false}, true},
		{"kr closed", Korea, mkCase("2026-03-01", "2026-03-20", "closed"), "2026-06-01", Deadline{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.Next(tc.c, tc.today)
			if ok != tc.running || got != tc.want {
				t.Fatalf("Next = %+v, %v; want %+v, %v", got, ok, tc.want, tc.running)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	bad := map[string]Policy{
		"no stages":       {},
		"wrong first":     {Stages: []string{"open"}},
		"duplicate stage": {Stages: []string{"received", "received"}},
		"unknown from":    {Stages: Default, Rules: []Rule{{Name: "x", From: "nope", Met: []string{"closed"}, Days: 1}}},
		"unknown met":     {Stages: Default, Rules: []Rule{{Name: "x", Met: []string{"nope"}, Days: 1}}},
		"no length":       {Stages: Default, Rules: []Rule{{Name: "x", Met: []string{"closed"}}}},
		"never met":       {Stages: Default, Rules: []Rule{{Name: "x", Days: 1}}},
		"bad fallback":    {Stages: Default, Rules: []Rule{{Name: "x", Met: []string{"closed"}, Days: 1, Fallback: "y"}}},
	}
	for name, p := range bad {
		t.Run(name, func(t *testing.T) {
			if p.Check() == nil {
				t.Fatal("accepted")
			}
		})
	}
}
