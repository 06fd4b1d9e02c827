package guide

import (
	"math"
	"unicode/utf8"

	"cleandrop/drop/jurisdiction"
)

// stemRunes is how many letters of a word the learned part keeps: a
// crude stem that survives most endings.
const stemRunes = 5

// features are the learned part's units of a draft, each once: word
// stems of up to stemRunes letters (words shorter than three letters
// and numbers are left out); for Korean, the two-syllable pieces of each
// word, since particles and compounds glue words together. at gives, per
// feature, the index of the token it came from.
func features(toks []token, lang string) (feats []string, at []int) {
	seen := map[string]bool{}
	add := func(f string, i int) {
		if !seen[f] {
			seen[f] = true
			feats = append(feats, f)
			at = append(at, i)
		}
	}
	for i, tk := range toks {
		w := tk.norm
		n := utf8.RuneCountInString(w)
		if n < 2 || isNumber(w) {
			continue
		}
		if lang == "ko" {
			rs := []rune(w)
			for j := 0; j+2 <= len(rs); j++ {
				add(string(rs[j:j+2]), i)
			}
			continue
		}
		if n < 3 {
			continue
		}
		if n > stemRunes {
			w = string([]rune(w)[:stemRunes])
		}
		add(w, i)
	}
	return feats, at
}

func isNumber(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// bayes is a naive Bayes model of one language: per feature, the log
// probability that a draft of each category holds it.
type bayes struct {
	prob map[string][]float64 // feature → log P(f|c) for each category
	miss []float64            // log P(f|c) of a feature never seen with c
}

// trainBayes learns a model from labelled drafts (category index,
// features), with add-alpha smoothing over documents.
func trainBayes(docs [][]string, cats []int, alpha float64) *bayes {
	n := len(jurisdiction.Categories)
	ndoc := make([]float64, n)
	count := map[string][]float64{}
	for d, fs := range docs {
		c := cats[d]
		ndoc[c]++
		for _, f := range fs {
			if count[f] == nil {
				count[f] = make([]float64, n)
			}
			count[f][c]++
		}
	}
	b := &bayes{prob: map[string][]float64{}, miss: make([]float64, n)}
	for c := range n {
		b.miss[c] = math.Log(alpha / (ndoc[c] + 2*alpha))
	}
	for f, cs := range count {
		total := 0.0
		for _, x := range cs {
			total += x
		}
		if total < 2 {
			continue // a feature of one draft says nothing general
		}
		p := make([]float64, n)
		for c := range n {
			p[c] = math.Log((cs[c] + alpha) / (ndoc[c] + 2*alpha))
		}
		b.prob[f] = p
	}
	return b
}

// posterior gives, per category, the probability the model gives the
// draft's features (a flat prior), with its log-likelihoods tempered by
// temp, and per category the token indexes of the features that
// weighed most for it.
func (b *bayes) posterior(feats []string, temp float64) []float64 {
	n := len(jurisdiction.Categories)
	ll := make([]float64, n)
	for _, f := range feats {
		p := b.prob[f]
		if p == nil {
			continue
		}
		for c := range n {
			ll[c] += p[c] - b.miss[c]
		}
	}
	max := math.Inf(-1)
	for _, x := range ll {
		max = math.Max(max, x)
	}
	var sum float64
	post := make([]float64, n)
	for c := range n {
		post[c] = math.Exp((ll[c] - max) / temp)
		sum += post[c]
	}
	for c := range n {
		post[c] /= sum
	}
	return post
}
