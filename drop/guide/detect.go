package guide

import (
	"strings"
	"unicode"
)

// DetectLang guesses the language of text among [Languages]: by script
// first (Hangul is Korean), then by letters only one language uses
// (Mongolian ө ү, Serbian ђ ј љ њ ћ џ, Albanian ë ç, Uzbek oʻ gʻ and
// Cyrillic ў қ ғ ҳ; Serbian Cyrillic also lacks й ы э щ ъ ь я ю ё), then
// by frequent short words. With no evidence at
// all it answers "en".
func DetectLang(text string) string {
	var hangul, cyr, latin int
	var mn, sr, sq, uz, ru int
	var srOnly, notSr int // Cyrillic letters only Serbian has, and letters it lacks
	prev := rune(0)
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Hangul, r):
			hangul++
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
			switch unicode.ToLower(r) {
			case 'ө', 'ү':
				mn += 3
			case 'ђ', 'ј', 'љ', 'њ', 'ћ', 'џ':
				sr += 3
				srOnly++
			case 'ў', 'қ', 'ғ', 'ҳ':
				uz += 3
			case 'ы', 'э', 'щ', 'ъ':
				ru++ // not Serbian; ы and э are Mongolian too
				notSr++
			case 'й', 'ь', 'я', 'ю', 'ё':
				notSr++ // not Serbian either, but Mongolian too
			}
		case unicode.Is(unicode.Latin, r):
			latin++
			switch unicode.ToLower(r) {
			case 'ë', 'ç':
				sq += 3
			case 'č', 'ć', 'š', 'ž', 'đ':
				sr += 3
			}
		case isApostrophe(r):
			if p := unicode.ToLower(prev); p == 'o' || p == 'g' {
				uz += 2
			}
		}
		prev = r
	}
	if hangul > 0 && hangul*2 >= cyr+latin {
		return "ko"
	}
	// frequent words
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !isApostrophe(r)
	}) {
		switch f {
		// Mongolian
		case "бол", "юм", "байна", "байсан", "энэ", "тэр", "гэж", "нь", "бид", "би", "болон", "мөн", "гэсэн":
			mn += 2
		// Russian
		case "и", "в", "не", "на", "что", "это", "он", "она", "мы", "я", "как", "по", "но", "из", "за", "так", "который", "было", "были":
			ru += 2
		// Serbian (both scripts)
		case "је", "да", "се", "су", "није", "од", "али", "што", "који", "sam", "je", "da", "se", "su", "nije", "od", "ali", "što", "koji", "kao", "smo", "bio", "bila":
			sr += 2
		// Albanian
		case "dhe", "për", "per", "një", "nje", "që", "qe", "është", "eshte", "nuk", "në", "ne", "me", "ka", "ishte", "të", "te":
			sq += 2
		// Uzbek
		case "va", "bilan", "uchun", "bu", "edi", "ham", "lekin", "emas", "bor", "yoʻq", "yo'q", "qilib", "boʻlib", "bo'lib", "men", "biz", "u", "ular", "hamda":
			uz += 2
		}
	}
	if cyr > latin {
		// Serbian Cyrillic has ђ ј љ њ ћ џ and lacks й ы э щ ъ ь я ю ё: a
		// draft with the first and (almost) none of the second is Serbian,
		// whatever its short words say.
		if srOnly > 0 && notSr*10 <= srOnly {
			return "sr"
		}
		best, lang := ru, "ru"
		if mn > best {
			best, lang = mn, "mn"
		}
		if sr > best {
			best, lang = sr, "sr"
		}
		if uz > best {
			lang = "uz"
		}
		return lang
	}
	if latin == 0 {
		return "en"
	}
	best, lang := 0, "en"
	en := englishWords(text)
	for _, c := range []struct {
		n    int
		lang string
	}{{en, "en"}, {sq, "sq"}, {sr, "sr"}, {uz, "uz"}} {
		if c.n > best {
			best, lang = c.n, c.lang
		}
	}
	return lang
}

// englishWords counts frequent English words, weighted like the others.
func englishWords(text string) int {
	n := 0
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		switch f {
		case "the", "and", "of", "is", "was", "that", "it", "in", "for", "with", "he", "she", "they", "we", "my", "our", "have", "had", "this", "not", "be", "were", "are":
			n += 2
		}
	}
	return n
}

// serbianScript tells a Serbian draft's script by its letters.
func serbianScript(text string) string {
	var cyr, lat int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
		case unicode.Is(unicode.Latin, r):
			lat++
		}
	}
	if cyr > lat {
		return "Cyrl"
	}
	return "Latn"
}
