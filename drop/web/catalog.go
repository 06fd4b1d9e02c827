package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed locales/*.json
var locales embed.FS

// Catalog holds every user-facing string in every supported language.
// English is the reference: every other locale must have every key.
type Catalog struct {
	msgs  map[string]map[string]string // lang -> key -> text
	names map[string]string            // lang -> its own name
	langs []string                     // English first, then sorted
}

// DefaultLanguage is the reference language of the catalogue.
const DefaultLanguage = "en"

// LoadCatalog reads the embedded catalogue and fails if a locale lacks a
// key that English has, or has one English lacks.
func LoadCatalog() (*Catalog, error) { return loadCatalog(locales, "locales") }

func loadCatalog(fsys fs.FS, dir string) (*Catalog, error) {
	files, err := fs.Glob(fsys, dir+"/*.json")
	if err != nil {
		return nil, err
	}
	c := &Catalog{msgs: map[string]map[string]string{}, names: map[string]string{}}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("locale %s: %w", f, err)
		}
		lang := strings.TrimSuffix(path.Base(f), ".json")
		if m["language.name"] == "" {
			return nil, fmt.Errorf("locale %s: no language.name", lang)
		}
		c.msgs[lang] = m
		c.names[lang] = m["language.name"]
		c.langs = append(c.langs, lang)
	}
	en, ok := c.msgs[DefaultLanguage]
	if !ok {
		return nil, fmt.Errorf("catalogue has no %s locale", DefaultLanguage)
	}
	for lang, m := range c.msgs {
		var missing, extra []string
		for k := range en {
			if m[k] == "" {
				missing = append(missing, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				extra = append(extra, k)
			}
		}
		if len(missing)+len(extra) > 0 {
			slices.Sort(missing)
			slices.Sort(extra)
			return nil, fmt.Errorf("locale %s: missing keys %v, unknown keys %v", lang, missing, extra)
		}
	}
	slices.SortFunc(c.langs, func(a, b string) int {
		switch {
		case a == DefaultLanguage:
			return -1
		case b == DefaultLanguage:
			return 1
		}
		return strings.Compare(a, b)
	})
	return c, nil
}

// Languages lists the catalogue's language codes, English first.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// Has reports whether lang is a supported language code.
func (c *Catalog) Has(lang string) bool { _, ok := c.msgs[lang]; return ok }

// Name is a language's name in that language.
func (c *Catalog) Name(lang string) string { return c.names[lang] }

// HasKey reports whether the reference locale defines key.
func (c *Catalog) HasKey(key string) bool { _, ok := c.msgs[DefaultLanguage][key]; return ok }

// T returns the text of key in lang, formatted with args when given. An
// unknown key is a programming error that start-up checks catch; at run
// time it shows the key itself rather than failing a page.
func (c *Catalog) T(lang, key string, args ...any) string {
	m, ok := c.msgs[lang]
	if !ok {
		m = c.msgs[DefaultLanguage]
	}
	s, ok := m[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
