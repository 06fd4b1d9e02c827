package guide

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"cleandrop/drop/jurisdiction"
)

// foldOf is the development round of a labelled draft: "A" for dev
// 001-030, "B" for dev 031-060 (written later, by other writers).
func foldOf(id string) string {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	if n <= 30 {
		return "A"
	}
	return "B"
}

// TestDevFolds is a tuning tool, not a gate: with CLEANDROP_GUIDE_FOLDS
// set it measures the guide on the two rounds of the development split
// separately (never on testdata/guide/test). The lexicons are tuned on
// round A; round B is the estimate of how the guide does on drafts it
// has not seen. CLEANDROP_GUIDE_MISSES=A lists round A's misses only.
func TestDevFolds(t *testing.T) {
	if os.Getenv("CLEANDROP_GUIDE_FOLDS") == "" {
		t.Skip("set CLEANDROP_GUIDE_FOLDS to measure the development rounds")
	}
	exs := readExamples(t, "../../testdata/guide/dev")
	folds := map[string][]example{}
	for _, ex := range exs {
		folds[foldOf(ex.ID)] = append(folds[foldOf(ex.ID)], ex)
	}
	for _, f := range []string{"A", "B"} {
		old := os.Getenv("CLEANDROP_GUIDE_MISSES")
		if old != "" && old != f {
			os.Unsetenv("CLEANDROP_GUIDE_MISSES")
		}
		report(t, "fold "+f, score(t, folds[f]))
		if old != "" {
			os.Setenv("CLEANDROP_GUIDE_MISSES", old)
		}
	}
}

var _ = fmt.Sprint
var _ = math.Log
var _ = sort.Strings
var _ = jurisdiction.Categories

// TestDevBayes: the learned part trained on one round, measured on the
// other, alone and added to the lexicon score.
func TestDevBayes(t *testing.T) {
	if os.Getenv("CLEANDROP_GUIDE_FOLDS") == "" {
		t.Skip("set CLEANDROP_GUIDE_FOLDS")
	}
	exs := readExamples(t, "../../testdata/guide/dev")
	guides := map[string]*Guide{}
	for _, ex := range exs {
		if guides[ex.Jurisdiction] == nil {
			p, _ := jurisdiction.Load(ex.Jurisdiction)
			guides[ex.Jurisdiction], _ = New(p)
		}
	}
	catIdx := func(id string) int {
		for i, c := range jurisdiction.Categories {
			if c == id {
				return i
			}
		}
		return -1
	}
	alpha, _ := strconv.ParseFloat(os.Getenv("NB_ALPHA"), 64)
	if alpha == 0 {
		alpha = 0.5
	}
	for _, temp := range []float64{1, 3, 10} {
		for _, lam := range []float64{0, 2, 4, 8, 16, 1000} {
			for _, train := range []string{"A", "B"} {
				res := map[string]*[2]int{"": {}}
				models := map[string]*bayes{}
				for _, l := range Languages {
					var docs [][]string
					var cats []int
					for _, ex := range exs {
						if ex.Lang == l && foldOf(ex.ID) == train {
							fs, _ := features(tokens(ex.Text, l), l)
							docs = append(docs, fs)
							cats = append(cats, catIdx(ex.Category))
						}
					}
					models[l] = trainBayes(docs, cats, alpha)
				}
				for _, ex := range exs {
					if foldOf(ex.ID) == train {
						continue
					}
					g := guides[ex.Jurisdiction]
					lexs := make([]float64, len(jurisdiction.Categories))
					for _, m := range g.rankAll(ex.Text, ex.Lang) {
						lexs[catIdx(m.ID)] = m.Score
					}
					fs, _ := features(tokens(ex.Text, ex.Lang), ex.Lang)
					post := models[ex.Lang].posterior(fs, temp)
					type cs struct {
						c int
						s float64
					}
					var all []cs
					for c := range lexs {
						all = append(all, cs{c, lexs[c] + lam*post[c]})
					}
					sort.SliceStable(all, func(i, j int) bool { return all[i].s > all[j].s })
					want := catIdx(ex.Category)
					if res[ex.Lang] == nil {
						res[ex.Lang] = &[2]int{}
					}
					for i := 0; i < 3; i++ {
						if all[i].c == want {
							for _, k := range []string{"", ex.Lang} {
								if i == 0 {
									res[k][0]++
								}
								res[k][1]++
							}
						}
					}
				}
				var line []string
				for _, l := range append([]string{""}, Languages...) {
					line = append(line, fmt.Sprintf("%s %d/%d", l, res[l][0], res[l][1]))
				}
				t.Logf("temp %g lambda %g train %s test other: %s", temp, lam, train, strings.Join(line, " | "))
			}
		}
	}
}
