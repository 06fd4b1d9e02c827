package guide

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// devCounts counts the development split's drafts of lang in the given
// rounds ("A", "B" or both) for the learned part.
func devCounts(t *testing.T, exs []example, lang string, rounds string) *bayesCounts {
	t.Helper()
	var docs [][]string
	var cats []int
	for _, ex := range exs {
		if ex.Lang != lang || !containsRune(rounds, foldOf(ex.ID)) {
			continue
		}
		fs, _ := features(tokens(ex.Text, lang), lang)
		docs = append(docs, fs)
		cats = append(cats, catIndex(t, ex.Category))
	}
	return countBayes(docs, cats)
}

func containsRune(s, r string) bool {
	for _, c := range s {
		if string(c) == r {
			return true
		}
	}
	return false
}

// TestWriteBayes is the generator of data/bayes (go generate): with
// CLEANDROP_GUIDE_WRITE_BAYES set it counts the whole development split
// (never testdata/guide/test) and writes one file per language.
func TestWriteBayes(t *testing.T) {
	if os.Getenv("CLEANDROP_GUIDE_WRITE_BAYES") == "" {
		t.Skip("run by go generate")
	}
	exs := readExamples(t, "../../testdata/guide/dev")
	if err := os.MkdirAll("data/bayes", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		if err := os.WriteFile(filepath.Join("data", "bayes", l+".txt"), []byte(devCounts(t, exs, l, "AB").format()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The embedded learned part is what the development split gives today:
// a change to the drafts or to the features without go generate fails.
func TestBayesFresh(t *testing.T) {
	const devDir = "../../testdata/guide/dev"
	if _, err := os.Stat(devDir); err != nil {
		t.Skipf("%s: %v", devDir, err)
	}
	exs := readExamples(t, devDir)
	for _, l := range Languages {
		b, err := data.ReadFile("data/bayes/" + l + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if want := devCounts(t, exs, l, "AB").format(); string(b) != want {
			t.Errorf("data/bayes/%s.txt is stale: run go generate ./drop/guide", l)
		}
	}
}

// A round trip through the file format keeps every count.
func TestBayesFormat(t *testing.T) {
	bc := countBayes([][]string{{"brib", "cash"}, {"brib", "tende"}, {"tende", "cash"}}, []int{1, 1, 15})
	got, err := parseBayesCounts(bc.format())
	if err != nil {
		t.Fatal(err)
	}
	if got.format() != bc.format() || len(got.feats) != 3 || got.feats["brib"][1] != 2 || got.docs[15] != 1 {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []string{"", "docs 1 2\n", "x 1:1\n", "docs" + " 0"[0:0] + "\n"} {
		if _, err := parseBayesCounts(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// lexiconOnly is g without its learned part.
func lexiconOnly(g *Guide) *Guide {
	c := *g
	c.bayes = nil
	return &c
}

// On the development drafts the learned part speaks (their words are
// known), changes scores, and every category it shows is explained by
// words of the draft as written; on a short draft it keeps quiet, and a
// long draft without any lexicon word still gets nothing.
func TestBayesInRank(t *testing.T) {
	exs := readExamples(t, "../../testdata/guide/dev")
	guides := map[string]*Guide{}
	changed := 0
	for _, ex := range exs {
		g := guides[ex.Jurisdiction]
		if g == nil {
			g = newGuide(t, ex.Jurisdiction)
			guides[ex.Jurisdiction] = g
		}
		r := g.Suggest(ex.Text, ex.Lang)
		lo := lexiconOnly(g).Suggest(ex.Text, ex.Lang)
		if !reflect.DeepEqual(r.Categories, lo.Categories) {
			changed++
		}
		for _, m := range r.Categories {
			if len(m.Matched) == 0 {
				t.Errorf("%s: %s shown without a word", ex.ID, m.ID)
			}
			for _, w := range m.Matched {
				if !strings.Contains(ex.Text, w) {
					t.Errorf("%s: %s: matched %q is not in the draft", ex.ID, m.ID, w)
				}
			}
		}
	}
	if changed < len(exs)/2 {
		t.Errorf("the learned part changed %d of %d results", changed, len(exs))
	}

	g := newGuide(t, "eu")
	short := "The inspector asked for a kickback and took the envelope so he would look the other way."
	if a, b := g.Suggest(short, "en"), lexiconOnly(g).Suggest(short, "en"); !reflect.DeepEqual(a, b) {
		t.Errorf("short draft: the learned part spoke:\n%+v\n%+v", a.Categories, b.Categories)
	}
	var long strings.Builder
	for range 40 {
		long.WriteString("Hello, I would like to say something about the weather today, the sky and the sea. ")
	}
	if r := g.Suggest(long.String(), "en"); len(r.Categories) != 0 {
		t.Errorf("no lexicon word, yet %v", ids(r))
	}
}
