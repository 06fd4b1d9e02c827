// Package guide reads a reporter's draft and suggests what it is about:
// the report categories its words point to (with the jurisdiction's laws),
// the body usually competent, and a template with blanks, prefilled with
// what it recognised.
//
// Everything happens in memory, in this process: a draft is never logged,
// stored or sent anywhere, and nothing here keeps it after Suggest returns.
package guide

import (
	"strings"

	"cleandrop/drop/jurisdiction"
)

// MaxSuggestions is how many categories a Result holds at most.
const MaxSuggestions = 3

// Match is one suggested category.
type Match struct {
	ID      string   `json:"id"`      // one of [jurisdiction.Categories]
	Score   float64  `json:"score"`   // higher is likelier; comparable within one Result
	Matched []string `json:"matched"` // the draft's own words that led here
}

// Result is what the guide makes of one draft.
type Result struct {
	Lang       string  `json:"lang"`       // the language it read the draft in
	Categories []Match `json:"categories"` // best first, at most MaxSuggestions
	// Agency is the id of the pack body usually competent for the first
	// category ("" when nothing matched).
	Agency string `json:"agency"`
	// Template is a report outline with blanks in Lang, prefilled with
	// what was recognised (dates, amounts, organisations).
	Template string `json:"template"`
}

// Guide suggests for the drafts of one jurisdiction.
type Guide struct {
	pack *jurisdiction.Pack
}

// New returns the guide for pack.
func New(pack *jurisdiction.Pack) (*Guide, error) {
	return &Guide{pack: pack}, nil
}

// Suggest reads text in lang ("" detects it).
//
// This first version only looks for each category's own words in the
// pack's plain-language explanations; the scoring model replaces it.
func (g *Guide) Suggest(text, lang string) Result {
	if lang == "" {
		lang = g.pack.Default()
	}
	res := Result{Lang: lang}
	low := strings.ToLower(text)
	for _, id := range jurisdiction.Categories {
		word := strings.ReplaceAll(id, "_", " ")
		if strings.Contains(low, word) {
			res.Categories = append(res.Categories, Match{ID: id, Score: 1, Matched: []string{word}})
		}
		if len(res.Categories) == MaxSuggestions {
			break
		}
	}
	if len(res.Categories) > 0 {
		res.Agency = g.pack.Laws[res.Categories[0].ID].Body
	}
	return res
}
