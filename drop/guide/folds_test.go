package guide

import (
	"fmt"
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
	// The embedded learned part has seen both rounds: measured here is
	// the lexicon alone, and the lexicon with a learned part counted from
	// round A only (on round B, which it has not seen).
	m, err := loadModel()
	if err != nil {
		t.Fatal(err)
	}
	embedded := m.bayes
	defer func() { m.bayes = embedded }()
	fromA := map[string]*bayes{}
	for _, l := range Languages {
		fromA[l] = newBayes(devCounts(t, exs, l, "A"), bayesAlpha)
	}
	for _, v := range []struct {
		name  string
		bayes map[string]*bayes
	}{{"lexicon", nil}, {"lexicon+bayes(A)", fromA}} {
		m.bayes = v.bayes
		for _, f := range []string{"A", "B"} {
			old := os.Getenv("CLEANDROP_GUIDE_MISSES")
			if old != "" && old != f {
				os.Unsetenv("CLEANDROP_GUIDE_MISSES")
			}
			report(t, v.name+" round "+f, score(t, folds[f]))
			if old != "" {
				os.Setenv("CLEANDROP_GUIDE_MISSES", old)
			}
		}
	}
}

// TestDevBayes: the learned part trained on one round, measured on the
// other, alone and added to the lexicon score, for a few weights and
// temperatures (tuning tool: CLEANDROP_GUIDE_FOLDS).
func TestDevBayes(t *testing.T) {
	if os.Getenv("CLEANDROP_GUIDE_FOLDS") == "" {
		t.Skip("set CLEANDROP_GUIDE_FOLDS")
	}
	exs := readExamples(t, "../../testdata/guide/dev")
	guides := map[string]*Guide{}
	for _, ex := range exs {
		if guides[ex.Jurisdiction] == nil {
			p, err := jurisdiction.Load(ex.Jurisdiction)
			if err != nil {
				t.Fatal(err)
			}
			if guides[ex.Jurisdiction], err = New(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, temp := range []float64{1, 3, 10} {
		for _, lam := range []float64{0, 1, 2, 4, 8, 1000} {
			for _, train := range []string{"A", "B"} {
				res := map[string]*[2]int{"": {}}
				models := map[string]*bayes{}
				for _, l := range Languages {
					models[l] = newBayes(devCounts(t, exs, l, train), bayesAlpha)
				}
				for _, ex := range exs {
					if foldOf(ex.ID) == train {
						continue
					}
					lexs := make([]float64, len(jurisdiction.Categories))
					for _, m := range guides[ex.Jurisdiction].lexRank(ex.Text, ex.Lang) {
						lexs[catIndex(t, m.ID)] = m.Score
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
					want := catIndex(t, ex.Category)
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
				t.Logf("temp %g weight %g: trained on %s, top1/top3 of 30 per language on the other round: %s", temp, lam, train, strings.Join(line, " | "))
			}
		}
	}
}

// catIndex is the index of a category id in jurisdiction.Categories.
func catIndex(t *testing.T, id string) int {
	t.Helper()
	for i, c := range jurisdiction.Categories {
		if c == id {
			return i
		}
	}
	t.Fatalf("unknown category %q", id)
	return -1
}
