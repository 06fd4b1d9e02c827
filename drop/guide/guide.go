package guide

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"cleandrop/drop/jurisdiction"
)

// MaxSuggestions is how many categories a Result holds at most.
const MaxSuggestions = 3

// maxMatched is how many words a Match lists at most.
const maxMatched = 12

// Languages the guide reads (jurisdiction.Languages: the drop's own).
var Languages = jurisdiction.Languages

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
	// Fields are the template's blanks, in order, for a form.
	Fields []Field `json:"fields"`
	// Script is "Cyrl" or "Latn" for Serbian (the template is written in
	// the draft's script), else "".
	Script string `json:"script,omitempty"`
}

// Guide suggests for the drafts of one jurisdiction. It is safe for
// concurrent use: nothing in it changes after New.
type Guide struct {
	pack  *jurisdiction.Pack
	lex   map[string]*lexicon
	bayes map[string]*bayes // the learned part; nil for a language: lexicon only
	orgs  []orgName
	label map[string]map[string]string // lang → field id → label
}

// New returns the guide for pack.
func New(pack *jurisdiction.Pack) (*Guide, error) {
	if pack == nil {
		return nil, fmt.Errorf("guide: no pack")
	}
	m, err := loadModel()
	if err != nil {
		return nil, err
	}
	return &Guide{pack: pack, lex: m.lex, bayes: m.bayes, label: m.labels, orgs: bodyNames(pack)}, nil
}

// Suggest reads text in lang ("" or a language the guide does not read:
// detected).
func (g *Guide) Suggest(text, lang string) Result {
	if !slices.Contains(Languages, lang) {
		lang = DetectLang(text)
	}
	res := Result{Lang: lang, Categories: []Match{}}
	if lang == "sr" {
		res.Script = serbianScript(text)
	}
	res.Categories = g.rank(text, lang)
	if len(res.Categories) > 0 {
		res.Agency = g.pack.Laws[res.Categories[0].ID].Body
	}
	res.Fields = g.fill(text, lang, res.Script)
	res.Template = templateText(res.Fields)
	return res
}

// rank scores every category and returns the best, at most
// MaxSuggestions, only those with evidence.
func (g *Guide) rank(text, lang string) []Match {
	out := g.rankAll(text, lang)
	if len(out) > MaxSuggestions {
		out = out[:MaxSuggestions]
	}
	return out
}

// rankAll scores every category and returns those with evidence, best
// first: the lexicon's score, plus, for a draft the learned part knows
// enough words of, bayesWeight times its probability for the category.
// Without a lexicon word in the draft there is no suggestion at all.
func (g *Guide) rankAll(text, lang string) []Match {
	out := g.lexRank(text, lang)
	b := g.bayes[lang]
	if len(out) == 0 || b == nil {
		return out
	}
	toks := tokens(text, lang)
	feats, at := features(toks, lang)
	if b.known(feats) < bayesMinKnown {
		return out
	}
	post := b.posterior(feats, 1)
	for c, id := range jurisdiction.Categories {
		i := slices.IndexFunc(out, func(m Match) bool { return m.ID == id })
		if i < 0 {
			if post[c] < bayesMinPost {
				continue
			}
			out = append(out, Match{ID: id})
			i = len(out) - 1
		}
		m := &out[i]
		m.Score = math.Round((m.Score+bayesWeight*post[c])*100) / 100
		if post[c] < bayesMinPost {
			continue
		}
		// the words that spoke most for it
		for _, f := range b.explain(feats, c, bayesExplain) {
			tk := toks[at[f]]
			w := text[tk.start:tk.end]
			if len(m.Matched) < maxMatched && !slices.ContainsFunc(m.Matched, func(x string) bool { return strings.EqualFold(x, w) }) {
				m.Matched = append(m.Matched, w)
			}
		}
	}
	out = slices.DeleteFunc(out, func(m Match) bool { return len(m.Matched) == 0 })
	// Stable over the categories' order: equal scores keep it.
	sort.SliceStable(out, func(i, j int) bool {
		return slices.Index(jurisdiction.Categories, out[i].ID) < slices.Index(jurisdiction.Categories, out[j].ID)
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// lexRank scores every category by the lexicon alone and returns those
// with evidence, best first.
func (g *Guide) lexRank(text, lang string) []Match {
	lx := g.lex[lang]
	if lx == nil {
		return []Match{}
	}
	toks := tokens(text, lang)
	n := len(jurisdiction.Categories)
	counts := make([][]termCount, n)
	words := make([][]string, n)
	seenWord := make([]map[string]bool, n)
	// Each word of the draft counts once per category, for the heaviest
	// entry it matched there: overlapping stems ("эмийн", "эмийн сан") do
	// not pile up.
	var hits []hit
	names := findSpans(text, companyPatterns)
	lx.scan(toks, func(h hit) {
		for _, s := range names {
			if s.s <= toks[h.first].start && toks[h.first].start < s.e {
				return // a word of a company's name
			}
		}
		hits = append(hits, h)
	})
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].t.weight > hits[j].t.weight })
	used := make([]map[int]bool, n)
	var counted []hit
	for _, h := range hits {
		c := h.t.cat
		if used[c] == nil {
			used[c] = map[int]bool{}
		}
		taken := false
		for k := h.first; k < h.end; k++ {
			taken = taken || used[c][k]
		}
		if taken {
			continue
		}
		for k := h.first; k < h.end; k++ {
			used[c][k] = true
		}
		counted = append(counted, h)
		i := slices.IndexFunc(counts[c], func(tc termCount) bool { return tc.t == h.t })
		if i < 0 {
			counts[c] = append(counts[c], termCount{t: h.t, n: 1})
		} else {
			counts[c][i].n++
		}
	}
	// The words, in the order the draft has them.
	sort.SliceStable(counted, func(i, j int) bool { return counted[i].first < counted[j].first })
	for _, h := range counted {
		c := h.t.cat
		w := text[toks[h.first].start:toks[h.end-1].end]
		if seenWord[c] == nil {
			seenWord[c] = map[string]bool{}
		}
		if k := strings.ToLower(w); !seenWord[c][k] && len(words[c]) < maxMatched {
			seenWord[c][k] = true
			words[c] = append(words[c], w)
		}
	}
	var out []Match
	for c, id := range jurisdiction.Categories {
		if len(counts[c]) == 0 {
			continue
		}
		s := math.Round(weigh(counts[c])*100) / 100
		out = append(out, Match{ID: id, Score: s, Matched: words[c]})
	}
	// Stable: equal scores keep the order of jurisdiction.Categories.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if out == nil {
		out = []Match{}
	}
	return out
}
