package exposure

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of finding, in the order they win when two overlap. Each has a
// message key "exposure.kind.<kind>".
const (
	Email      = "email"
	IBAN       = "iban"
	NationalID = "national_id"
	TaxID      = "tax_id"
	Card       = "card"
	Phone      = "phone"
	Self       = "self"
)

// Kinds lists every kind a [Finding] can have.
var Kinds = []string{Email, Phone, NationalID, TaxID, Card, IBAN, Self}

// rank orders kinds when candidates overlap: a lower rank wins.
var rank = map[string]int{Email: 0, IBAN: 1, NationalID: 2, TaxID: 3, Card: 4, Phone: 5, Self: 6}

// Finding is one passage that may identify the reporter.
type Finding struct {
	Kind       string
	Start, End int    // byte offsets into the text: Passage == text[Start:End]
	Passage    string // the matched text
}

// MaxText bounds the text Check reads: beyond it, nothing is looked at.
// The report page bounds a draft well below it.
const MaxText = 1 << 20

// Check returns the passages of text that may identify its writer,
// sorted by position, none overlapping another.
func Check(text string) []Finding {
	if len(text) > MaxText {
		text = text[:MaxText]
	}
	var cands []Finding
	cands = append(cands, emails(text)...)
	cands = append(cands, ibans(text)...)
	cands = append(cands, registers(text)...)
	cands = append(cands, numbers(text)...)

	// Kinds take their places in rank order; within a kind, by position,
	// the longer first. acc stays sorted by position, without overlaps,
	// so each kind is merged in with one pass (a draft full of addresses
	// costs n log n, not n²).
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if rank[a.Kind] != rank[b.Kind] {
			return rank[a.Kind] < rank[b.Kind]
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.End > b.End
	})
	var acc []Finding
	for i := 0; i < len(cands); {
		j := i
		for j < len(cands) && cands[j].Kind == cands[i].Kind {
			j++
		}
		acc = place(acc, cands[i:j])
		i = j
	}
	// A self-identification runs to the end of its clause; it stops
	// where another finding begins, so that one is named on its own.
	var selves []Finding
	for _, s := range selfs(text) {
		k := sort.Search(len(acc), func(i int) bool { return acc[i].Start >= s.trigger })
		if k < len(acc) && acc[k].Start < s.End {
			s.End = acc[k].Start
		}
		s.End = trimRight(text, s.Start, s.End)
		if s.End <= s.Start {
			continue
		}
		s.Passage = text[s.Start:s.End]
		selves = append(selves, s.Finding)
	}
	return place(acc, selves)
}

// place adds to acc (sorted by position, no overlaps) those of add
// (sorted by position) that overlap neither acc nor an earlier one of
// add, and returns the merged list, sorted by position.
func place(acc, add []Finding) []Finding {
	if len(add) == 0 {
		return acc
	}
	var kept []Finding
	k, last := 0, -1
	for _, c := range add {
		if c.Start < last {
			continue
		}
		for k < len(acc) && acc[k].End <= c.Start {
			k++
		}
		if k < len(acc) && acc[k].Start < c.End {
			continue
		}
		kept = append(kept, c)
		last = c.End
	}
	out := make([]Finding, 0, len(acc)+len(kept))
	i, j := 0, 0
	for i < len(acc) || j < len(kept) {
		if j == len(kept) || i < len(acc) && acc[i].Start < kept[j].Start {
			out = append(out, acc[i])
			i++
		} else {
			out = append(out, kept[j])
			j++
		}
	}
	return out
}

func found(text, kind string, start, end int) Finding {
	return Finding{Kind: kind, Start: start, End: end, Passage: text[start:end]}
}

// letterBefore reports whether the rune ending at i is a letter or digit.
func letterBefore(text string, i int) bool {
	if i <= 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// letterAt reports whether the rune starting at i is a letter or digit.
func letterAt(text string, i int) bool {
	if i >= len(text) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isASCIILetter(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// E-mail addresses: the common form, ASCII.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)

func emails(text string) []Finding {
	var out []Finding
	for _, m := range emailRE.FindAllStringIndex(text, -1) {
		s, e := m[0], m[1]
		for s < e && (text[s] == '.' || text[s] == '-') {
			s++
		}
		out = append(out, found(text, Email, s, e))
	}
	return out
}

// IBANs: country code, two check digits, then letters and digits, in
// groups of four or not; only those that pass the mod-97 check.
var ibanRE = regexp.MustCompile(`[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}`)

func ibans(text string) []Finding {
	var out []Finding
	for _, m := range ibanRE.FindAllStringIndex(text, -1) {
		s, e := m[0], m[1]
		if letterBefore(text, s) {
			continue
		}
		// The greedy match may have taken a following word or number:
		// try each end at a group boundary, longest first.
		for end := e; end > s+14; end-- {
			if text[end-1] == ' ' || (end < len(text) && text[end] != ' ' && letterAt(text, end)) {
				continue
			}
			if validIBAN(text[s:end]) {
				out = append(out, found(text, IBAN, s, end))
				break
			}
		}
	}
	return out
}

// ibanLength is the length of the IBANs of countries whose reporters
// this drop serves and of their neighbours; others take 15 to 34.
var ibanLength = map[string]int{
	"XK": 20, "AL": 28, "RS": 22, "ME": 22, "MK": 19, "BA": 20, "DE": 22, "AT": 20,
	"CH": 21, "GB": 22, "FR": 27, "IT": 27, "NL": 18, "BE": 16, "TR": 26, "HR": 21,
	"SI": 19, "GR": 27, "BG": 22, "RO": 24, "HU": 28, "PL": 28, "UA": 29, "RU": 33,
	"KZ": 20, "GE": 22, "AZ": 28, "BY": 28, "ES": 24, "SE": 24, "NO": 15, "DK": 18,
}

func validIBAN(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if n, ok := ibanLength[s[:2]]; ok && n != len(s) {
		return false
	}
	// Move the first four characters to the end, letters become 10..35,
	// and the number mod 97 must be 1.
	r := s[4:] + s[:4]
	mod := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case isDigit(c):
			mod = (mod*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			mod = (mod*100 + v) % 97
		default:
			return false
		}
	}
	return mod == 1
}

// Mongolian register numbers: two Cyrillic letters and eight digits, the
// first six a birth date (YYMMDD, the month plus 20 for births from 2000).
var registerRE = regexp.MustCompile(`(?i)[а-яёөү]{2} ?[0-9]{8}`)

func registers(text string) []Finding {
	var out []Finding
	for _, m := range registerRE.FindAllStringIndex(text, -1) {
		s, e := m[0], m[1]
		if letterBefore(text, s) || letterAt(text, e) {
			continue
		}
		d := text[e-8 : e]
		mm, dd := atoi(d[2:4]), atoi(d[4:6])
		if mm > 20 {
			mm -= 20
		}
		if mm < 1 || mm > 12 || dd < 1 || dd > 31 {
			continue
		}
		out = append(out, found(text, NationalID, s, e))
	}
	return out
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
