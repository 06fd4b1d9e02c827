package guide

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// FieldIDs are the template's blanks, in order.
var FieldIDs = []string{"who", "what", "when", "where", "how", "how_much", "evidence", "witnesses", "who_else_knows"}

// Field is one blank of the template.
type Field struct {
	ID    string `json:"id"`    // one of [FieldIDs]
	Label string `json:"label"` // in the Result's language
	Value string `json:"value"` // prefilled, or "" for the reporter to fill
}

// model is the embedded data, read once.
type model struct {
	lex    map[string]*lexicon
	bayes  map[string]*bayes
	labels map[string]map[string]string
}

var (
	modelOnce sync.Once
	theModel  *model
	modelErr  error
)

// loadModel parses the embedded lexicons and labels (once: they never
// change).
func loadModel() (*model, error) {
	modelOnce.Do(func() { theModel, modelErr = parseModel(data) })
	return theModel, modelErr
}

func parseModel(fsys fs.FS) (*model, error) {
	m := &model{lex: map[string]*lexicon{}, bayes: map[string]*bayes{}}
	b, err := fs.ReadFile(fsys, "data/labels.json")
	if err != nil {
		return nil, fmt.Errorf("guide labels: %w", err)
	}
	if err := json.Unmarshal(b, &m.labels); err != nil {
		return nil, fmt.Errorf("guide labels: %w", err)
	}
	for _, l := range Languages {
		for _, id := range FieldIDs {
			if strings.TrimSpace(m.labels[l][id]) == "" {
				return nil, fmt.Errorf("guide labels: %s has no %q", l, id)
			}
		}
		src, err := fs.ReadFile(fsys, path.Join("data", "lexicon", l+".txt"))
		if err != nil {
			return nil, fmt.Errorf("guide lexicon: %w", err)
		}
		lx, err := parseLexicon(l, string(src))
		if err != nil {
			return nil, err
		}
		m.lex[l] = lx
		src, err = fs.ReadFile(fsys, path.Join("data", "bayes", l+".txt"))
		if err != nil {
			return nil, fmt.Errorf("guide model: %w", err)
		}
		bc, err := parseBayesCounts(string(src))
		if err != nil {
			return nil, fmt.Errorf("guide model %s: %w", l, err)
		}
		m.bayes[l] = newBayes(bc, bayesAlpha)
	}
	return m, nil
}

// fill makes the template's fields in lang (Serbian in script), prefilled
// with what text names.
func (g *Guide) fill(text, lang, script string) []Field {
	labels := g.label[lang]
	pre := map[string][]string{
		"who":      g.organisations(text),
		"when":     dates(text),
		"how_much": amounts(text),
	}
	out := make([]Field, 0, len(FieldIDs))
	for _, id := range FieldIDs {
		l := labels[id]
		if script == "Latn" {
			l = srToLatin(l)
		}
		out = append(out, Field{ID: id, Label: l, Value: strings.Join(pre[id], "; ")})
	}
	return out
}

// templateText writes fields as an outline, one "Label: value" line each,
// a blank line of underscores where nothing was recognised.
func templateText(fields []Field) string {
	var b strings.Builder
	for _, f := range fields {
		v := f.Value
		if v == "" {
			v = "____"
		}
		fmt.Fprintf(&b, "%s: %s\n", f.Label, v)
	}
	return b.String()
}
