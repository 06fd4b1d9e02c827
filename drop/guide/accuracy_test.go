package guide

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"cleandrop/drop/jurisdiction"
)

// example is one labelled draft of testdata/guide/{dev,test}/<lang>.jsonl.
type example struct {
	ID           string `json:"id"`
	Lang         string `json:"lang"`
	Script       string `json:"script,omitempty"`
	Jurisdiction string `json:"jurisdiction"`
	Category     string `json:"category"`
	Text         string `json:"text"`
}

// readExamples reads every *.jsonl file of dir.
func readExamples(t *testing.T, dir string) []example {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []example
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var ex example
			if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
				t.Fatalf("%s:%d: %v", filepath.Base(f), line, err) // the decoder's message quotes no text
			}
			out = append(out, ex)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
	return out
}

// tally is top-1 and top-3 hits over n examples.
type tally struct{ n, top1, top3, detected int }

func (a tally) String() string {
	if a.n == 0 {
		return "n=0"
	}
	return fmt.Sprintf("n=%d top1=%.1f%% top3=%.1f%% (language detected: %.1f%%)", a.n, pct(a.top1, a.n), pct(a.top3, a.n), pct(a.detected, a.n))
}

func pct(k, n int) float64 { return 100 * float64(k) / float64(n) }

// score runs the guide over examples and tallies per language ("" is all).
func score(t *testing.T, exs []example) map[string]*tally {
	t.Helper()
	guides := map[string]*Guide{}
	out := map[string]*tally{"": {}}
	for _, ex := range exs {
		g, ok := guides[ex.Jurisdiction]
		if !ok {
			p, err := jurisdiction.Load(ex.Jurisdiction)
			if err != nil {
				t.Fatalf("example %s: %v", ex.ID, err)
			}
			if g, err = New(p); err != nil {
				t.Fatal(err)
			}
			guides[ex.Jurisdiction] = g
		}
		if !slices.Contains(jurisdiction.Categories, ex.Category) {
			t.Fatalf("example %s: unknown category %q", ex.ID, ex.Category)
		}
		r := g.Suggest(ex.Text, ex.Lang)
		if out[ex.Lang] == nil {
			out[ex.Lang] = &tally{}
		}
		detected := DetectLang(ex.Text) == ex.Lang
		for _, a := range []*tally{out[""], out[ex.Lang]} {
			a.n++
			if detected {
				a.detected++
			}
			for i, m := range r.Categories {
				if m.ID == ex.Category {
					if i == 0 {
						a.top1++
					}
					a.top3++
				}
			}
		}
		if os.Getenv("CLEANDROP_GUIDE_MISSES") != "" && (len(r.Categories) == 0 || r.Categories[0].ID != ex.Category) {
			var got []string
			for _, m := range r.Categories {
				got = append(got, fmt.Sprintf("%s %.1f %v", m.ID, m.Score, m.Matched))
			}
			t.Logf("miss %s want %s got %s", ex.ID, ex.Category, strings.Join(got, " | "))
		}
	}
	return out
}

// report logs one line per language and overall.
func report(t *testing.T, split string, res map[string]*tally) {
	t.Helper()
	var langs []string
	for l := range res {
		if l != "" {
			langs = append(langs, l)
		}
	}
	sort.Strings(langs)
	for _, l := range langs {
		measured(t, "%s %s: %s", split, l, res[l])
	}
	measured(t, "%s overall: %s", split, res[""])
}

// TestHeldOutAccuracy measures the guide on the held-out labelled drafts
// of testdata/guide/test (nothing is tuned on them) and fails under the
// issue's bar: top-3 at least 85% overall and 75% in every language, at
// least 20 drafts per language, every category present. The development
// split is measured too, for information.
//
// It skips only when testdata/guide/test does not exist at all (a branch
// without the labelled set); an empty or partial set fails.
func TestHeldOutAccuracy(t *testing.T) {
	const testDir, devDir = "../../testdata/guide/test", "../../testdata/guide/dev"
	if st, err := os.Stat(devDir); err == nil && st.IsDir() {
		report(t, "dev", score(t, readExamples(t, devDir)))
	}
	if _, err := os.Stat(testDir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s does not exist: the held-out set is not in this tree", testDir)
	}
	exs := readExamples(t, testDir)
	if len(exs) == 0 {
		t.Fatalf("%s holds no labelled drafts", testDir)
	}
	res := score(t, exs)
	report(t, "test", res)
	for _, l := range Languages {
		a := res[l]
		switch {
		case a == nil || a.n < 20:
			n := 0
			if a != nil {
				n = a.n
			}
			t.Errorf("test: %s has %d drafts, fewer than 20", l, n)
		case pct(a.top3, a.n) < 75:
			t.Errorf("test: %s top-3 %.1f%% is under 75%%", l, pct(a.top3, a.n))
		}
	}
	if all := res[""]; pct(all.top3, all.n) < 85 {
		t.Errorf("test: overall top-3 %.1f%% is under 85%%", pct(all.top3, all.n))
	}
	seen := map[string]bool{}
	for _, ex := range exs {
		seen[ex.Category] = true
	}
	for _, c := range jurisdiction.Categories {
		if !seen[c] {
			t.Errorf("test: no draft of category %s", c)
		}
	}
}

// measured logs a measurement and appends it to
// $CLEANDROP_ARTIFACTS/measurements.txt (as vault's tests do).
func measured(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	art := os.Getenv("CLEANDROP_ARTIFACTS")
	if art == "" {
		return
	}
	os.MkdirAll(art, 0o755)
	f, err := os.OpenFile(filepath.Join(art, "measurements.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: %s\n", t.Name(), line)
}
