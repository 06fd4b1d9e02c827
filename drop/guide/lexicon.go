package guide

import (
	"bufio"
	"embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"cleandrop/drop/jurisdiction"
)

//go:embed data
var data embed.FS

// A term is one lexicon entry: a word stem, or a phrase of stems, that
// points to a category with a weight.
type term struct {
	parts  []string // folded; a draft's word matches a part it begins with
	exact  bool     // the word must be the part itself
	whole  []bool   // this part must be the whole word (a phrase's short words: "за", "in")
	inside bool     // the first part may stand inside a word (Korean compounds)
	cat    int      // index in jurisdiction.Categories
	weight float64
}

// lexicon is one language's terms, indexed by the first two letters of
// their first part.
type lexicon struct {
	lang  string
	index map[string][]*term
	terms int
}

// key is the index key of a folded word: its first two letters.
func key(s string) string {
	_, n1 := utf8.DecodeRuneInString(s)
	if n1 == len(s) {
		return s
	}
	_, n2 := utf8.DecodeRuneInString(s[n1:])
	return s[:n1+n2]
}

// parseLexicon reads a lexicon file: "[category]" opens a category, and
// each following line lists comma-separated entries, a phrase being words
// with spaces; "=N" after an entry gives its weight (default 1), a final
// "!" asks for the whole word, and a leading "^" keeps a Korean stem from
// matching inside a word. "#" starts a comment.
func parseLexicon(lang, src string) (*lexicon, error) {
	lx := &lexicon{lang: lang, index: map[string][]*term{}}
	cat := -1
	sc := bufio.NewScanner(strings.NewReader(src))
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			cat = slices.Index(jurisdiction.Categories, s[1:len(s)-1])
			if cat < 0 {
				return nil, fmt.Errorf("lexicon %s:%d: unknown category %s", lang, line, s)
			}
			continue
		}
		if cat < 0 {
			return nil, fmt.Errorf("lexicon %s:%d: an entry before the first [category]", lang, line)
		}
		for _, e := range strings.Split(s, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			t := &term{cat: cat, weight: 1, inside: lang == "ko"}
			if i := strings.LastIndexByte(e, '='); i >= 0 {
				w, err := strconv.ParseFloat(strings.TrimSpace(e[i+1:]), 64)
				if err != nil || w <= 0 {
					return nil, fmt.Errorf("lexicon %s:%d: bad weight in %q", lang, line, e)
				}
				t.weight, e = w, strings.TrimSpace(e[:i])
			}
			if strings.HasPrefix(e, "^") {
				t.inside, e = false, strings.TrimPrefix(e, "^") // only at a word's start
			}
			if strings.HasSuffix(e, "!") {
				t.exact, e = true, strings.TrimSuffix(e, "!")
			}
			for _, tk := range tokens(e, lang) {
				t.parts = append(t.parts, tk.norm)
			}
			if len(t.parts) == 0 {
				return nil, fmt.Errorf("lexicon %s:%d: empty entry", lang, line)
			}
			t.whole = make([]bool, len(t.parts))
			for i, p := range t.parts {
				// in a phrase, a word of one or two letters is itself, not
				// the start of another ("за счёт" is not "зарубежных счетов");
				// a Korean syllable pair is a word stem
				t.whole[i] = t.exact || (len(t.parts) > 1 && lang != "ko" && utf8.RuneCountInString(p) <= 2)
			}
			if !t.exact && len(t.parts) == 1 && utf8.RuneCountInString(t.parts[0]) < 2 {
				return nil, fmt.Errorf("lexicon %s:%d: %q is too short to match by its beginning", lang, line, e)
			}
			k := key(t.parts[0])
			lx.index[k] = append(lx.index[k], t)
			lx.terms++
		}
	}
	return lx, sc.Err()
}

// partMatches reports whether the folded word w matches the term part p.
func partMatches(w, p string, exact bool) bool {
	if exact {
		return w == p
	}
	return strings.HasPrefix(w, p)
}

// hit is one matched term occurrence: the tokens it spans.
type hit struct {
	t          *term
	first, end int // token indexes, end exclusive
}

// scan finds every term occurrence in toks.
func (lx *lexicon) scan(toks []token, fn func(hit)) {
	for i, tk := range toks {
		w := tk.norm
		try := func(off int) {
			k := key(w[off:])
			for _, t := range lx.index[k] {
				if off > 0 && !t.inside {
					continue
				}
				if !partMatches(w[off:], t.parts[0], t.whole[0] && off == 0) {
					continue
				}
				j := 1
				for ; j < len(t.parts); j++ {
					if i+j >= len(toks) || !partMatches(toks[i+j].norm, t.parts[j], t.whole[j]) {
						break
					}
				}
				if j == len(t.parts) {
					fn(hit{t: t, first: i, end: i + j})
				}
			}
		}
		try(0)
		if lx.lang == "ko" {
			// a Korean stem may stand inside a compound word (공사대금)
			for off, r := range w {
				if off == 0 {
					continue
				}
				_ = r
				try(off)
			}
		}
	}
}

// termCount is how often one term occurred in a draft.
type termCount struct {
	t *term
	n int
}

// weigh turns term counts into a score: a term's first occurrence counts
// its weight, repeats add less and less. The sum runs in the order the
// terms were first seen, so the result is the same on every run.
func weigh(counts []termCount) float64 {
	var s float64
	for _, c := range counts {
		s += c.t.weight * (1 + math.Log(float64(c.n)))
	}
	return s
}
