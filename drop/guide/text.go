package guide

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A token is one word of a draft: where it stands in the draft, and its
// normalised form, the one the lexicons are written in.
type token struct {
	start, end int // byte offsets in the draft
	norm       string
}

// isApostrophe reports the marks people type for the Uzbek oʻ/gʻ and
// the tutuq belgisi (ʼ), and for English contractions.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '`', '‘', '’', 'ʻ', 'ʼ', '´', 'ʹ':
		return true
	}
	return false
}

// tokens splits text into words: runs of letters and digits, an
// apostrophe-like mark inside a word kept with it. Each word is
// normalised for lang with fold.
func tokens(text, lang string) []token {
	var out []token
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := text[start:end]
		// a word does not end on an apostrophe ("workers'")
		for len(w) > 0 {
			r, n := utf8.DecodeLastRuneInString(w)
			if !isApostrophe(r) {
				break
			}
			w = w[:len(w)-n]
			end -= n
		}
		if w != "" {
			out = append(out, token{start: start, end: end, norm: fold(w, lang)})
		}
		start = -1
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if start < 0 {
				start = i
			}
		case isApostrophe(r) && start >= 0:
			// kept when a letter follows; flush trims it otherwise
		default:
			flush(i)
		}
	}
	flush(len(text))
	return out
}

// fold is the form words are compared in: lower case, and per language
// the variants people write for one letter made one: Serbian in Latin
// script without diacritics (Cyrillic transliterated), Albanian ë and ç
// as e and c, Uzbek without the oʻ/gʻ marks (however they are typed),
// Russian ё as е.
func fold(w, lang string) string {
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range w {
		r = unicode.ToLower(r)
		if isApostrophe(r) {
			continue // o'z, oʻz, o`z and oz are one word
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining mark: the base letter decides
		}
		switch lang {
		case "sr":
			if s, ok := srLatin[r]; ok {
				b.WriteString(s)
				continue
			}
			switch r {
			case 'č', 'ć':
				r = 'c'
			case 'š':
				r = 's'
			case 'ž':
				r = 'z'
			case 'đ':
				b.WriteString("dj")
				continue
			}
		case "sq":
			switch r {
			case 'ë':
				r = 'e'
			case 'ç':
				r = 'c'
			}
		case "ru", "mn":
			if r == 'ё' {
				r = 'е'
			}
		case "uz":
			if s, ok := uzLatin[r]; ok { // Uzbek in Cyrillic script
				b.WriteString(s)
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// srLatin transliterates Serbian Cyrillic to the folded Latin form
// (without diacritics: č ć → c, š → s, ž → z, đ → dj).
var srLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'ђ': "dj", 'е': "e", 'ж': "z",
	'з': "z", 'и': "i", 'ј': "j", 'к': "k", 'л': "l", 'љ': "lj", 'м': "m", 'н': "n",
	'њ': "nj", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'ћ': "c", 'у': "u",
	'ф': "f", 'х': "h", 'ц': "c", 'ч': "c", 'џ': "dz", 'ш': "s",
}

// uzLatin transliterates Uzbek Cyrillic to the folded Latin form.
var uzLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "yo", 'ж': "j",
	'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "x", 'ц': "s",
	'ч': "ch", 'ш': "sh", 'ъ': "", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya", 'ў': "o",
	'қ': "q", 'ғ': "g", 'ҳ': "h",
}

// srToLatin writes Serbian Cyrillic text in Latin script, with its
// diacritics (for the template of a draft written in Latin script).
func srToLatin(s string) string {
	var b strings.Builder
	for _, r := range s {
		lower := unicode.ToLower(r)
		l, ok := srLatinFull[lower]
		if !ok {
			b.WriteRune(r)
			continue
		}
		if lower != r {
			rs := []rune(l)
			rs[0] = unicode.ToUpper(rs[0])
			l = string(rs)
		}
		b.WriteString(l)
	}
	return b.String()
}

var srLatinFull = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'ђ': "đ", 'е': "e", 'ж': "ž",
	'з': "z", 'и': "i", 'ј': "j", 'к': "k", 'л': "l", 'љ': "lj", 'м': "m", 'н': "n",
	'њ': "nj", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'ћ': "ć", 'у': "u",
	'ф': "f", 'х': "h", 'ц': "c", 'ч': "č", 'џ': "dž", 'ш': "š",
}
