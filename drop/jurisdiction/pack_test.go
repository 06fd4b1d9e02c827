package jurisdiction

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

func TestCodes(t *testing.T) {
	want := []string{"eu", "kr", "mn", "uz", "xk"}
	if got := Codes(); !slices.Equal(got, want) {
		t.Fatalf("Codes = %v, want %v", got, want)
	}
}

// Every embedded pack loads, passes the validator and has what the issue
// asks of it.
func TestEmbeddedPacks(t *testing.T) {
	defaults := map[string][]string{"kr": {"ko"}, "mn": {"mn", "en"}, "xk": {"sq", "sr", "en"}, "uz": {"uz", "ru", "en"}, "eu": {"en"}}
	central := map[string]string{"kr": "acrc", "mn": "iaac", "xk": "apc", "uz": "aca", "eu": "authority"}
	for _, code := range Codes() {
		t.Run(code, func(t *testing.T) {
			p, err := Load(code)
			if err != nil {
				t.Fatal(err)
			}
			if p.Code != code {
				t.Errorf("code %q in folder %q", p.Code, code)
			}
			if !slices.Equal(p.Languages, defaults[code]) {
				t.Errorf("languages %v, want %v", p.Languages, defaults[code])
			}
			if p.Bodies[0].ID != central[code] || !p.Bodies[0].Central {
				t.Errorf("first body %+v, want the central %q", p.Bodies[0], central[code])
			}
			if len(p.Laws) != len(Categories) {
				t.Errorf("%d categories", len(p.Laws))
			}
			if err := p.Policy().Check(); err != nil {
				t.Error(err)
			}
			for _, b := range p.Bodies {
				if len(b.Keywords) == 0 {
					t.Errorf("body %q has no keywords", b.ID)
				}
			}
		})
	}
}

func TestUnknownPack(t *testing.T) {
	if _, err := Load("zz"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Load(zz) = %v", err)
	}
}

// packFS writes an embedded pack into a map file system after edit
// changes its decoded JSON.
func packFS(t *testing.T, code string, edit func(file string, v any)) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, f := range []string{fileMeta, fileBodies, fileLaws, filePages} {
		b, err := embedded.ReadFile("packs/" + code + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(f, v)
		}
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
		m[f] = &fstest.MapFile{Data: b}
	}
	return m
}

func obj(v any) map[string]any { return v.(map[string]any) }

func TestCheckFindsProblems(t *testing.T) {
	tests := []struct {
		name string
		edit func(file string, v any)
		want string
	}{
		{"unknown category", func(f string, v any) {
			if f == fileLaws {
				obj(v)["tax_fraud"] = obj(v)["tax_evasion"]
			}
		}, `unknown category "tax_fraud"`},
		{"missing category", func(f string, v any) {
			if f == fileLaws {
				delete(obj(v), "bribery")
			}
		}, `lacks category "bribery"`},
		{"rule at unknown stage", func(f string, v any) {
			if f == fileMeta {
				r := obj(obj(v)["rules"].([]any)[0])
				r["from"] = "triage"
			}
		}, `unknown stage "triage"`},
		{"rule without basis", func(f string, v any) {
			if f == fileMeta {
				delete(obj(obj(v)["rules"].([]any)[0]), "basis")
			}
		}, "names no legal basis"},
		{"language missing a string", func(f string, v any) {
			if f == filePages {
				s := obj(obj(obj(v)["protection"])["sections"].([]any)[2])
				delete(obj(s["text"]), "sr")
			}
		}, `protection page section "forbidden" has no sr text`},
		{"explanation missing english", func(f string, v any) {
			if f == fileLaws {
				delete(obj(obj(obj(v)["bribery"])["explain"]), "en")
			}
		}, `category "bribery" explanation has no en text`},
		{"agency without a name", func(f string, v any) {
			if f == fileBodies {
				obj(v.([]any)[3])["name"] = " "
			}
		}, `body 4 ("police"): no name`},
		{"unknown sector", func(f string, v any) {
			if f == fileBodies {
				obj(v.([]any)[1])["sector"] = "auditing"
			}
		}, `unknown sector "auditing"`},
		{"unknown region", func(f string, v any) {
			if f == fileBodies {
				obj(v.([]any)[1])["region"] = "gjakova"
			}
		}, `unknown region "gjakova"`},
		{"duplicate id", func(f string, v any) {
			if f == fileBodies {
				obj(v.([]any)[2])["id"] = "nao"
			}
		}, `body 3 ("nao"): duplicate id`},
		{"central not first", func(f string, v any) {
			if f == fileBodies {
				l := v.([]any)
				l[0], l[1] = l[1], l[0]
			}
		}, "the central body must come first"},
		{"law names unknown body", func(f string, v any) {
			if f == fileLaws {
				obj(obj(v)["bribery"])["body"] = "kpk"
			}
		}, `category "bribery": unknown body "kpk"`},
		{"missing page section", func(f string, v any) {
			if f == filePages {
				r := obj(obj(v)["rewards"])
				r["sections"] = r["sections"].([]any)[1:]
			}
		}, `rewards page lacks section "rewards"`},
		{"language the drop lacks", func(f string, v any) {
			if f == fileMeta {
				obj(v)["languages"] = []any{"sq", "de", "en"}
			}
		}, `language "de" is not one the drop speaks`},
		{"rule without words", func(f string, v any) {
			if f == fileMeta {
				obj(obj(v)["rules"].([]any)[0])["name"] = "decide"
			}
		}, `deadline "decide": the pages have no words for it`},
		{"no sources", func(f string, v any) {
			if f == fileMeta {
				delete(obj(v), "sources")
			}
		}, "no sources"},
		{"page text left in English", func(f string, v any) {
			if f == filePages {
				s := obj(obj(obj(v)["rewards"])["sections"].([]any)[1])
				obj(s["text"])["sq"] = obj(s["text"])["en"]
			}
		}, `rewards page section "compensation": the sq text is the English one`},
		{"explanation left in English", func(f string, v any) {
			if f == fileLaws {
				e := obj(obj(v)["bribery"])["explain"]
				obj(e)["sr"] = obj(e)["en"]
			}
		}, `category "bribery" explanation: the sr text is the English one`},
		{"body name left in English", func(f string, v any) {
			if f == fileBodies {
				b := obj(v.([]any)[1])
				obj(b["names"])["sq"] = b["name"]
			}
		}, `body 2 ("nao") name: the sq text is the English one`},
		{"same as English without a reason", func(f string, v any) {
			if f == fileMeta {
				obj(v)["same_as_english"] = map[string]any{"Prizren": " "}
			}
		}, `same_as_english "Prizren" gives no reason`},
		{"unknown field", func(f string, v any) {
			if f == fileBodies {
				obj(v.([]any)[0])["recipients"] = []any{"age1x"}
			}
		}, `unknown field "recipients"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(packFS(t, "xk", tc.edit), "test")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := load(packFS(t, "xk", nil), "test"); err != nil {
		t.Fatalf("unchanged pack: %v", err)
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for name, f := range packFS(t, "mn", nil) {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := LoadDir(dir)
	if err != nil || p.Code != "mn" {
		t.Fatalf("LoadDir = %v, %v", p, err)
	}
	os.Remove(filepath.Join(dir, fileLaws))
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), fileLaws) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := LoadDir(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("missing folder accepted")
	}
}

func mkCase(opened string, events ...string) vault.Case {
	c := vault.Case{Opened: opened, Stage: vault.InitialStage, History: []vault.Event{{Day: opened, Stage: vault.InitialStage, Batch: 1}}}
	for i := 0; i+1 < len(events); i += 2 {
		c.History = append(c.History, vault.Event{Day: events[i], Stage: events[i+1]})
		c.Stage = events[i+1]
	}
	return c
}

// Each pack's deadlines against the rule it cites, with fixed days: month
// ends, a leap year, and a case never acknowledged.
func TestPackDeadlines(t *testing.T) {
	type want struct {
		d  stage.Deadline
		ok bool
	}
	tests := []struct {
		pack, name string
		c          vault.Case
		today      string
		want       want
	}{
		// kr: 60 days to process (ACRC).
		{"kr", "60 days from receipt", mkCase("2026-03-01"), "2026-03-01", want{stage.Deadline{Rule: "process", Due: "2026-04-30", Left: 60}, true}},
		{"kr", "across a leap February", mkCase("2028-01-31"), "2028-02-29", want{stage.Deadline{Rule: "process", Due: "2028-03-31", Left: 31}, true}},
		{"kr", "never acknowledged, overdue", mkCase("2026-10-31"), "2027-01-05", want{stage.Deadline{Rule: "process", Due: "2026-12-30", Left: -6, Overdue: true}, true}},
		{"kr", "acknowledging does not stop the clock", mkCase("2026-10-31", "2026-11-02", "acknowledged"), "2026-12-30", want{stage.Deadline{Rule: "process", Due: "2026-12-30", Left: 0}, true}},
		{"kr", "referred meets it", mkCase("2026-10-31", "2026-11-20", "referred"), "2027-03-01", want{}},
		// mn: 30 days (petitions law), conservative default.
		{"mn", "30 days over a month end", mkCase("2026-01-31"), "2026-02-01", want{stage.Deadline{Rule: "process", Due: "2026-03-02", Left: 29}, true}},
		{"mn", "never acknowledged, overdue", mkCase("2026-11-30"), "2027-01-01", want{stage.Deadline{Rule: "process", Due: "2026-12-30", Left: -2, Overdue: true}, true}},
		{"mn", "closed", mkCase("2026-11-30", "2026-12-10", "closed"), "2027-01-01", want{}},
		// xk: 15 days to inform the whistleblower (Law 06/L-085), conservative default.
		{"xk", "15 days", mkCase("2026-12-20"), "2026-12-20", want{stage.Deadline{Rule: "feedback", Due: "2027-01-04", Left: 15}, true}},
		{"xk", "never acknowledged, overdue across February", mkCase("2026-01-31"), "2026-03-01", want{stage.Deadline{Rule: "feedback", Due: "2026-02-15", Left: -14, Overdue: true}, true}},
		{"xk", "acknowledged only: still running", mkCase("2026-02-20", "2026-02-21", "acknowledged"), "2026-03-08", want{stage.Deadline{Rule: "feedback", Due: "2026-03-07", Left: -1, Overdue: true}, true}},
		{"xk", "investigating meets it", mkCase("2026-02-20", "2026-03-01", "investigating"), "2026-03-08", want{}},
		// uz: 15 days (appeals law), conservative default.
		{"uz", "15 days into March", mkCase("2026-02-28"), "2026-03-01", want{stage.Deadline{Rule: "process", Due: "2026-03-15", Left: 14}, true}},
		{"uz", "never acknowledged, overdue", mkCase("2026-12-31"), "2027-01-20", want{stage.Deadline{Rule: "process", Due: "2027-01-15", Left: -5, Overdue: true}, true}},
		// eu: 7 days to acknowledge, 3 months to feed back (Art. 9(1)(b), (f)).
		{"eu", "7 days to acknowledge", mkCase("2026-01-28"), "2026-01-28", want{stage.Deadline{Rule: "acknowledge", Due: "2026-02-04", Left: 7}, true}},
		{"eu", "3 months from acknowledgement at a month end", mkCase("2026-11-28", "2026-11-30", "acknowledged"), "2026-12-01", want{stage.Deadline{Rule: "feedback", Due: "2027-02-28", Left: 89}, true}},
		{"eu", "3 months from a 31st", mkCase("2026-10-29", "2026-10-31", "acknowledged"), "2026-10-31", want{stage.Deadline{Rule: "feedback", Due: "2027-01-31", Left: 92}, true}},
		{"eu", "never acknowledged: 3 months after day 7, April has no 31st", mkCase("2026-01-24", "2026-02-15", "review"), "2026-02-15", want{stage.Deadline{Rule: "feedback", Due: "2026-04-30", Left: 74}, true}},
		{"eu", "never acknowledged, still received: acknowledgement overdue first", mkCase("2026-01-24"), "2026-02-15", want{stage.Deadline{Rule: "acknowledge", Due: "2026-01-31", Left: -15, Overdue: true}, true}},
	}
	for _, tc := range tests {
		t.Run(tc.pack+"/"+tc.name, func(t *testing.T) {
			p, err := Load(tc.pack)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := p.Policy().Next(tc.c, tc.today)
			if ok != tc.want.ok || got != tc.want.d {
				t.Fatalf("Next = %+v, %v; want %+v, %v", got, ok, tc.want.d, tc.want.ok)
			}
		})
	}
}

// The EU pack is the drop's built-in EU profile, and the kr pack its
// Korean one, so a configuration moving from "deadlines" to
// "jurisdiction" keeps its deadlines.
func TestPacksMatchBuiltInProfiles(t *testing.T) {
	for code, prof := range map[string]stage.Policy{"eu": stage.EU, "kr": stage.Korea} {
		p, err := Load(code)
		if err != nil {
			t.Fatal(err)
		}
		pol := p.Policy()
		if !slices.Equal(pol.Stages, prof.Stages) || len(pol.Rules) != len(prof.Rules) {
			t.Fatalf("%s: %+v vs %+v", code, pol, prof)
		}
		for i := range pol.Rules {
			a, b := pol.Rules[i], prof.Rules[i]
			if a.Name != b.Name || a.From != b.From || a.Days != b.Days || a.Months != b.Months || a.Fallback != b.Fallback || !slices.Equal(a.Met, b.Met) {
				t.Errorf("%s rule %d: %+v vs %+v", code, i, a, b)
			}
		}
	}
}

// TestUzbekLetters: the uz pack writes oʻ and gʻ with U+02BB and the
// tutuq belgisi with U+02BC, as the drop's uz locale does.
func TestUzbekLetters(t *testing.T) {
	mark := regexp.MustCompile("[oOgG]['‘’`]|[A-Za-z\u02bb][’'][a-z]")
	p, err := Load("uz")
	if err != nil {
		t.Fatal(err)
	}
	check := func(where string, s string) {
		if m := mark.FindString(s); m != "" {
			t.Errorf("%s: %q", where, m)
		}
	}
	for _, b := range p.Bodies {
		check("body "+b.ID, b.Names["uz"])
		for _, k := range b.Keywords["uz"] {
			check("body "+b.ID+" keyword", k)
		}
	}
	for c, l := range p.Laws {
		check("law "+c, l.Explain["uz"])
	}
	for _, pg := range []Page{p.Protection, p.Rewards} {
		check("page title", pg.Title["uz"])
		for _, s := range pg.Sections {
			check("section "+s.ID, s.Heading["uz"]+" "+s.Text["uz"])
		}
	}
	check("note", p.Note["uz"])
	for _, r := range p.Rules {
		check("rule "+r.Name, r.Note["uz"])
	}
}
