package guide

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"cleandrop/drop/jurisdiction"
)

// FuzzSuggest feeds random text in a random language: Suggest never
// panics, keeps its promises on any input, and answers the same twice.
func FuzzSuggest(f *testing.F) {
	for _, d := range benchDrafts {
		f.Add(d.text, d.lang)
	}
	f.Add("", "")
	f.Add("o'''ʻʻ`` ((주)) ₩₩ 12.12.12 ХХК", "uz")
	f.Add("\xff\xfe broken utf-8 \xc3", "sr")
	g := newGuide(f, "xk")
	f.Fuzz(func(t *testing.T, text, lang string) {
		r := g.Suggest(text, lang)
		if !slices.Contains(Languages, r.Lang) {
			t.Fatalf("lang %q", r.Lang)
		}
		if len(r.Categories) > MaxSuggestions || (len(r.Categories) == 0) != (r.Agency == "") {
			t.Fatalf("%d categories, agency %q", len(r.Categories), r.Agency)
		}
		for i, m := range r.Categories {
			if !slices.Contains(jurisdiction.Categories, m.ID) || m.Score <= 0 || len(m.Matched) == 0 {
				t.Fatalf("match %+v", m)
			}
			if i > 0 && m.Score > r.Categories[i-1].Score {
				t.Fatal("not best first")
			}
			for _, w := range m.Matched {
				if !strings.Contains(text, w) {
					t.Fatal("a matched word is not in the text")
				}
			}
		}
		if len(r.Fields) != len(FieldIDs) {
			t.Fatalf("%d fields", len(r.Fields))
		}
		for _, fl := range r.Fields {
			if !utf8.ValidString(fl.Label) {
				t.Fatal("label not UTF-8")
			}
		}
		if r2 := g.Suggest(text, lang); len(r2.Categories) != len(r.Categories) || r2.Template != r.Template {
			t.Fatal("not deterministic")
		}
	})
}
