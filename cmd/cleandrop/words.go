package main

import (
	"flag"
	"fmt"
	"strings"

	"cleandrop/drop/web"
	"cleandrop/vault/bundle"
)

// words writes the result lines of the commands officers run on the
// offline machine (open, refer) in their language, through the drop's
// catalogue. Errors and hints stay in English, like every administrator
// message.
type words struct {
	cat  *web.Catalog
	lang string
}

// addLanguageFlag adds --language to a command officers run.
func addLanguageFlag(fs *flag.FlagSet) *string {
	return fs.String("language", web.DefaultLanguage, "print the result in this language `CODE` (en, ko, mn, ru, sq, sr, uz)")
}

func newWords(lang string) (words, error) {
	cat, err := web.LoadCatalog()
	if err != nil {
		return words{}, err
	}
	if !cat.Has(lang) {
		return words{}, hint(fmt.Errorf("--language %q is not one the drop speaks", lang), "use one of "+strings.Join(cat.Languages(), ", "))
	}
	return words{cat: cat, lang: lang}, nil
}

// text is the text of key with args.
func (w words) text(key string, args ...any) string { return w.cat.T(w.lang, key, args...) }

// say is the text of key with args, as one line.
func (w words) say(key string, args ...any) string { return w.text(key, args...) + "\n" }

// stage is a stage id's name, or the id when the catalogue has none.
func (w words) stage(id string) string {
	if k := "stage." + id; w.cat.HasKey(k) {
		return w.text(k)
	}
	return id
}

// thread labels an opened bundle's thread.txt and thread.html in the
// officer's language.
func (w words) thread() bundle.ThreadWords {
	return bundle.ThreadWords{Lang: w.lang, Text: w.text, HasKey: w.cat.HasKey}
}
