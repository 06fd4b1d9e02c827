package source

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search text is compared in three forms:
//   - folded: lower case, Latin accents removed, punctuation as spaces;
//   - Latin: Cyrillic and Hangul written in Latin letters (latin), then
//     folded, so that a reporter with a Latin keyboard finds "Авлига" as
//     "avliga" and "국민권익위원회" as "gukmin";
//   - skeleton: a loose Latin form in which spellings of one sound meet
//     (kh, h and x; ts and c; g and k…), for the last tier of a search.
// All three are deterministic and need no tables outside this file.

// fold lower-cases s, strips Latin diacritics, drops control characters
// and turns everything that is neither a letter nor a digit into one
// space. Letters of other scripts (Cyrillic, Hangul…) stay as they are.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // no leading space
	for _, r := range s {
		if r == utf8.RuneError {
			r = ' '
		}
		r = unicode.ToLower(r)
		if m, ok := latinFold[r]; ok {
			if m == "" {
				continue // an apostrophe-like mark inside a word (Uzbek oʻ)
			}
			b.WriteString(m)
			space = false
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteRune(r)
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}

// latinFold maps Latin letters with diacritics (those of the drop's
// languages and their neighbours) to plain ones; "" drops the rune.
var latinFold = map[rune]string{}

func init() {
	for plain, accented := range map[string]string{
		"a": "àáâãäåāăą", "c": "çćčĉċ", "d": "ď", "e": "èéêëēėęěĕ", "g": "ğģĝġ",
		"h": "ĥħ", "i": "ìíîïīįıĭ", "j": "ĵ", "k": "ķ", "l": "ĺļľłŀ", "n": "ñńňņ",
		"o": "òóôõöøōőŏ", "r": "ŕřŗ", "s": "śšşșŝ", "t": "ťţțŧ", "u": "ùúûüūůűųŭ",
		"y": "ýÿŷ", "z": "źżž", "ss": "ß", "ae": "æ", "oe": "œ", "th": "þ", "dj": "đ",
	} {
		for _, r := range accented {
			latinFold[r] = plain
		}
	}
	// Apostrophes and modifier letters that are part of a word: Uzbek
	// oʻ and gʻ, English o'clock.
	for _, r := range "'ʻʼ’‘`´" {
		latinFold[r] = ""
	}
}

// latin writes the Cyrillic and Hangul letters of s in Latin letters and
// leaves everything else as it is. Cyrillic follows a common
// transliteration covering Russian, Mongolian, Serbian and Uzbek letters;
// Hangul follows the Revised Romanization of Korean (2000), syllable by
// syllable, with the liaison of a final consonant before a silent initial
// and ㄹㄹ as "ll", but without the other sound-change rules.
func latin(s string) string {
	if !hasConvertible(s) {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if t, ok := cyrillic[unicode.ToLower(r)]; ok {
			if unicode.IsUpper(r) && t != "" {
				t = strings.ToUpper(t[:1]) + t[1:]
			}
			b.WriteString(t)
			continue
		}
		if isSyllable(r) {
			l, v, f := jamo(r)
			next := -1
			if i+1 < len(rs) && isSyllable(rs[i+1]) {
				next, _, _ = jamo(rs[i+1])
			}
			prevFinal := -1
			if i > 0 && isSyllable(rs[i-1]) {
				_, _, prevFinal = jamo(rs[i-1])
			}
			switch {
			case l == 5 && prevFinal == 8: // ㄹ after a final ㄹ
				b.WriteString("l")
			default:
				b.WriteString(initials[l])
			}
			b.WriteString(medials[v])
			switch {
			case f == 0:
			case next == 11: // the next syllable starts with a silent ㅇ
				b.WriteString(finalsLinked[f])
			default:
				b.WriteString(finals[f])
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hasConvertible(s string) bool {
	for _, r := range s {
		if isSyllable(r) || unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

func isSyllable(r rune) bool { return r >= 0xAC00 && r <= 0xD7A3 }

// jamo splits a precomposed Hangul syllable into the indexes of its
// initial, medial and final (0: none) jamo.
func jamo(r rune) (l, v, f int) {
	i := int(r - 0xAC00)
	return i / (21 * 28), i % (21 * 28) / 28, i % 28
}

var (
	initials = [19]string{"g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"}
	medials  = [21]string{"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi", "yu", "eu", "ui", "i"}
	// finals before a consonant or at the end; finalsLinked before a
	// silent initial, where the consonant is said as the next initial.
	finals       = [28]string{"", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"}
	finalsLinked = [28]string{"", "g", "kk", "ks", "n", "nj", "nh", "d", "r", "lg", "lm", "lb", "ls", "lt", "lp", "lh", "m", "b", "bs", "s", "ss", "ng", "j", "ch", "k", "t", "p", "h"}
)

// cyrillic maps lower-case Cyrillic letters to Latin.
var cyrillic = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "yo", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu",
	'я': "ya",
	// Mongolian
	'ө': "o", 'ү': "u",
	// Serbian
	'ђ': "dj", 'ј': "j", 'љ': "lj", 'њ': "nj", 'ћ': "c", 'џ': "dz",
	// Uzbek, Kazakh, Ukrainian, Belarusian
	'ў': "o", 'қ': "q", 'ғ': "g", 'ҳ': "h", 'і': "i", 'ї': "yi", 'є': "ye", 'ґ': "g",
	'ә': "a", 'ң': "ng", 'ұ': "u", 'һ': "h",
}

// skeletonPairs bring spellings of one sound together; longer first.
var skeletonPairs = strings.NewReplacer(
	"shch", "s", "sch", "s", "sh", "s", "ch", "c", "zh", "z", "kh", "h",
	"ts", "c", "tz", "c", "ph", "f", "x", "h", "q", "k", "w", "v", "y", "i", "j", "i",
	"g", "k", "d", "t", "b", "p", "r", "l",
)

// skeleton is the loose form of a folded Latin string: spellings of one
// sound meet, voiced and voiceless stops meet, r meets l, and doubled
// letters are one.
func skeleton(s string) string {
	s = skeletonPairs.Replace(s)
	var b strings.Builder
	last := rune(-1)
	for _, r := range s {
		if r == last && r != ' ' {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}
