package source

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"cleandrop/drop/strip"
	"cleandrop/drop/web"
)

// fileNote is what the reporter and the officer are told about one file
// of an upload: cleaned of hidden details, and what was removed, or why
// not. Its name comes from the request being answered; it is kept nowhere
// but in the sealed items.
type fileNote struct {
	N      int // 1-based, in the order of the form
	Name   string
	Result strip.Result
}

// fileView is one line of the list on the receipt and case pages.
type fileView struct {
	Cleaned bool
	Text    string
}

// stripKeys are the message keys of what cleaning says.
func stripKeys() []string {
	keys := []string{"files.title", "files.cleaned", "files.cleaned.nothing", "files.not_cleaned",
		"files.officer.title", "files.officer.file", "files.limits", "desk.kind.cleaning"}
	for _, k := range strip.Removals {
		keys = append(keys, "strip.removed."+k)
	}
	for _, k := range strip.Reasons {
		keys = append(keys, "strip.reason."+k)
	}
	return keys
}

// fileText says in lang what happened to one file.
func fileText(c *web.Catalog, lang string, n fileNote) string {
	name := displayName(n.Name)
	res := n.Result
	switch {
	case res.Cleaned() && len(res.Removed) == 0:
		return c.T(lang, "files.cleaned.nothing", name)
	case res.Cleaned():
		items := make([]string, len(res.Removed))
		for i, k := range res.Removed {
			items[i] = c.T(lang, "strip.removed."+k)
		}
		return c.T(lang, "files.cleaned", name, strings.Join(items, ", "))
	}
	why := c.T(lang, "strip.reason."+res.Reason)
	if res.Reason == "unknown" {
		why = c.T(lang, "strip.reason.unknown", res.Type)
	}
	return c.T(lang, "files.not_cleaned", name, why)
}

func (h *handler) fileViews(lang string, notes []fileNote) []fileView {
	var v []fileView
	for _, n := range notes {
		v = append(v, fileView{Cleaned: n.Result.Cleaned(), Text: fileText(h.cfg.Catalog, lang, n)})
	}
	return v
}

// cleaningText is the sealed item that tells the officer, in the drop's
// language, what was done with each file of the batch.
func (h *handler) cleaningText(notes []fileNote) []byte {
	lang := h.cfg.Language
	if lang == "" {
		lang = web.DefaultLanguage
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", h.cfg.Catalog.T(lang, "files.officer.title"))
	for _, n := range notes {
		fmt.Fprintf(&b, "%s %s\n", h.cfg.Catalog.T(lang, "files.officer.file", n.N), fileText(h.cfg.Catalog, lang, n))
	}
	return b.Bytes()
}

// displayName is a file name fit to show: no control or bidi formatting
// characters, at most 120 characters.
func displayName(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 120 {
		s = string(r[:119]) + "…"
	}
	if s == "" {
		s = "file"
	}
	return s
}
