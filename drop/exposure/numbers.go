package exposure

import (
	"slices"
	"strings"
)

// Numbers are read as runs of digit groups joined by one separator
// (space, hyphen, dot, slash, with parentheses around an area code):
// "010-1234-5678", "+976 9911 2233", "(90) 123-45-67". Each run is tried
// window by window, longest first from each group, so that a date or a
// year written next to a phone number does not hide it.

type group struct{ s, e int } // byte offsets of a run of ASCII digits

// maxWindow bounds the groups one number may have, and maxDigits its
// digits: "+998 (90) 123 45 67" has six groups, a card nineteen digits.
const (
	maxWindow = 7
	maxDigits = 20
	minDigits = 7 // the shortest kind: a phone number said to be one
)

func numbers(text string) []Finding {
	var out []Finding
	var run []group
	flush := func() {
		out = append(out, windows(text, run)...)
		run = run[:0]
	}
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		g := group{s: i}
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		g.e = i
		if len(run) > 0 && !joins(text[run[len(run)-1].e:g.s]) {
			flush()
		}
		run = append(run, g)
	}
	flush()
	return out
}

// joins reports whether gap, the text between two digit groups, joins
// them into one number: one to three characters of " -./()", at most one
// of them not a parenthesis.
func joins(gap string) bool {
	if len(gap) == 0 || len(gap) > 3 {
		return false
	}
	seps := 0
	for i := 0; i < len(gap); i++ {
		switch gap[i] {
		case '(', ')':
		case ' ', '-', '.', '/':
			seps++
		default:
			return false
		}
	}
	return seps <= 1
}

func windows(text string, run []group) []Finding {
	var out []Finding
	for i := 0; i < len(run); {
		hit := false
		for j := min(len(run)-1, i+maxWindow-1); j >= i; j-- {
			if f, ok := window(text, run[i:j+1]); ok {
				out = append(out, f)
				i, hit = j+1, true
				break
			}
		}
		if !hit {
			i++
		}
	}
	return out
}

// number is one window of a run, as the classifiers see it.
type number struct {
	digits string   // the digits alone
	groups []string // the digit groups
	sizes  []int    // their lengths
	seps   []string // the text between groups
	plus   bool     // written with a leading "+"
	text   string   // the whole text, and where the number starts in it:
	start  int      // near reads the words just before it
}

func window(text string, gs []group) (Finding, bool) {
	start, end := gs[0].s, gs[len(gs)-1].e
	digits := 0
	for _, g := range gs {
		if digits += g.e - g.s; digits > maxDigits {
			return Finding{}, false
		}
	}
	var groups [maxWindow]string
	var sizes [maxWindow]int
	var seps [maxWindow]string
	if digits < minDigits {
		return Finding{}, false
	}
	n := number{text: text, groups: groups[:0], sizes: sizes[:0], seps: seps[:0]}
	var b strings.Builder
	b.Grow(digits)
	for k, g := range gs {
		b.WriteString(text[g.s:g.e])
		n.groups = append(n.groups, text[g.s:g.e])
		n.sizes = append(n.sizes, g.e-g.s)
		if k > 0 {
			n.seps = append(n.seps, text[gs[k-1].e:g.s])
		}
	}
	n.digits = b.String()
	if start > 0 && text[start-1] == '(' {
		start--
	}
	if start > 0 && text[start-1] == '+' {
		start--
		n.plus = true
	}
	// Part of a word or a reference ("INV-2024-0001", "A12345678"): not
	// a number of a person.
	if start > 0 && isASCIILetter(text[start-1]) {
		return Finding{}, false
	}
	if start > 1 && strings.IndexByte("-/.", text[start-1]) >= 0 && (isASCIILetter(text[start-2]) || isDigit(text[start-2])) {
		return Finding{}, false
	}
	if end < len(text) && isASCIILetter(text[end]) {
		return Finding{}, false
	}
	n.start = start
	kind := n.kind()
	if kind == "" {
		return Finding{}, false
	}
	return found(text, kind, start, end), true
}

func (n number) kind() string {
	if n.isDate() {
		return ""
	}
	switch {
	case n.nationalID():
		return NationalID
	case n.taxID():
		return TaxID
	case n.card():
		return Card
	case n.phone():
		return Phone
	}
	return ""
}

func (n number) lens() []int { return n.sizes }

func (n number) shape(want ...int) bool { return slices.Equal(n.sizes, want) }

// sepsIn reports whether every separator is one of set.
func (n number) sepsIn(set ...string) bool {
	for _, s := range n.seps {
		ok := false
		for _, t := range set {
			if s == t {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (n number) near(words ...string) bool {
	ctx := strings.ToLower(n.text[max(0, n.start-48):n.start])
	for _, w := range words {
		if strings.Contains(ctx, w) {
			return true
		}
	}
	return false
}

// isDate: 2024-05-12, 12.05.2024, 5/12/24 and the like are never a
// person's number.
func (n number) isDate() bool {
	if len(n.groups) != 3 || n.plus || n.seps[0] != n.seps[1] || !n.sepsIn("-", ".", "/", ". ") {
		return false
	}
	l := n.lens()
	a, b, c := atoi(n.groups[0]), atoi(n.groups[1]), atoi(n.groups[2])
	switch {
	case l[0] == 4 && l[1] <= 2 && l[2] <= 2: // YYYY-MM-DD
		return b >= 1 && b <= 12 && c >= 1 && c <= 31
	case l[0] <= 2 && l[1] <= 2 && (l[2] == 4 || l[2] == 2): // DD.MM.YYYY, MM/DD/YY
		return a >= 1 && a <= 31 && b >= 1 && b <= 31
	}
	return false
}

func validDay(mm, dd int, leap bool) bool {
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	if leap {
		days[2] = 29
	}
	return mm >= 1 && mm <= 12 && dd >= 1 && dd <= days[mm]
}

// Words that say a number is someone's identity number.
var idWords = []string{
	"numri personal", "numrin personal", "nr. personal", "nr personal", "numri identifikues",
	"personal number", "personal no", "personal id", "id number", "identity number",
	"лични број", "лични бр", "lični broj", "licni broj", "личный номер",
}

var pinflWords = []string{"pinfl", "пинфл", "jshshir", "жшшир", "shaxsiy identifikatsiya"}

func (n number) nationalID() bool {
	d := n.digits
	// Korean resident registration number: YYMMDD-SNNNNNN. Numbers
	// issued since October 2020 carry no check digit, so the written
	// form with its hyphen is enough; thirteen digits in one go must
	// also pass the old check digit.
	if len(d) == 13 && (n.shape(6, 7) && n.sepsIn("-", " ") || n.shape(13)) {
		yy, mm, dd, s := atoi(d[0:2]), atoi(d[2:4]), atoi(d[4:6]), d[6]
		if s >= '1' && s <= '8' && validDay(mm, dd, yy%4 == 0) && (n.shape(6, 7) || rrnCheck(d)) {
			return true
		}
	}
	// Uzbek PINFL: fourteen digits, the first 1-6 (sex and century), then
	// the birth date DDMMYY.
	if len(d) == 14 && (n.shape(14) || n.near(pinflWords...)) {
		dd, mm, yy := atoi(d[1:3]), atoi(d[3:5]), atoi(d[5:7])
		if d[0] >= '1' && d[0] <= '6' && validDay(mm, dd, yy%4 == 0) {
			return true
		}
		if n.near(pinflWords...) {
			return true
		}
	}
	// Kosovo personal number: ten digits, said to be one.
	if len(d) == 10 && n.shape(10) && n.near(idWords...) {
		return true
	}
	return false
}

func rrnCheck(d string) bool {
	w := []int{2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5}
	sum := 0
	for i, k := range w {
		sum += int(d[i]-'0') * k
	}
	return (11-sum%11)%10 == int(d[12]-'0')
}

var tinWords = []string{"инн", "inn", "stir", "стир", "tin", "taxpayer", "soliq to", "налогоплательщик", "tatimor", "numri fiskal", "пиб", "pib"}

func (n number) taxID() bool {
	d := n.digits
	// Korean business registration number NNN-NN-NNNNN, with its check
	// digit.
	if len(d) == 10 && (n.shape(3, 2, 5) && n.sepsIn("-") || n.shape(10) && n.near("사업자")) && brnCheck(d) {
		return true
	}
	// Uzbek TIN (STIR/INN): nine digits, said to be one.
	if len(d) == 9 && n.shape(9) && n.near(tinWords...) {
		return true
	}
	return false
}

func brnCheck(d string) bool {
	w := []int{1, 3, 7, 1, 3, 7, 1, 3, 5}
	sum := 0
	for i, k := range w {
		sum += int(d[i]-'0') * k
	}
	sum += int(d[8]-'0') * 5 / 10
	return (10-sum%10)%10 == int(d[9]-'0')
}

func (n number) card() bool {
	d := n.digits
	if len(d) < 13 || len(d) > 19 || n.plus || !strings.ContainsRune("2345689", rune(d[0])) {
		return false
	}
	if strings.Count(d, d[:1]) == len(d) {
		return false
	}
	if len(n.groups) > 1 {
		if !n.sepsIn(" ", "-") {
			return false
		}
		for _, g := range n.groups[:len(n.groups)-1] {
			if len(g) < 4 {
				return false
			}
		}
	}
	return luhn(d)
}

func luhn(d string) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// Words that say a number is a phone number.
var phoneWords = []string{
	"tel", "phone", "mobile", "whatsapp", "signal", "telegram", "call me",
	"전화", "연락처", "휴대", "핸드폰",
	"утас", "телефон", "тел.", "тел:", "моб",
	"telefon", "celular", "mob.", "mob:",
	"broj telefona", "број телефона",
}

var uzCodes = map[string]bool{"20": true, "33": true, "50": true, "55": true, "71": true, "77": true, "88": true,
	"90": true, "91": true, "93": true, "94": true, "95": true, "97": true, "98": true, "99": true}

func (n number) phone() bool {
	d, g := n.digits, n.groups
	if n.plus {
		return len(d) >= 8 && len(d) <= 15
	}
	if len(d) < 7 {
		return false
	}
	single := len(g) == 1
	switch {
	// Korea: mobiles 010-1234-5678 (or in one go), landlines 02-123-4567,
	// 031-123-4567 (with separators).
	case strings.HasPrefix(d, "01") && strings.ContainsRune("016789", rune(d[2])) && (len(d) == 10 || len(d) == 11) &&
		(single || n.shape(3, 3, 4) || n.shape(3, 4, 4)):
		return true
	case strings.HasPrefix(d, "02") && (len(d) == 9 || len(d) == 10) && (n.shape(2, 3, 4) || n.shape(2, 4, 4)):
		return true
	case len(d) >= 10 && len(d) <= 11 && d[0] == '0' && d[1] >= '3' && d[1] <= '7' &&
		(n.shape(3, 3, 4) || n.shape(3, 4, 4)):
		return true
	// Kosovo: 044 123 456, 049-123-456, 038 123 456.
	case len(d) == 9 && (strings.HasPrefix(d, "04") && d[2] >= '3' || strings.HasPrefix(d, "038") || strings.HasPrefix(d, "039") || strings.HasPrefix(d, "028") || strings.HasPrefix(d, "029")) &&
		(n.shape(3, 3, 3) || n.shape(3, 6) || single && strings.HasPrefix(d, "04")):
		return true
	// Mongolia: 9911-2233, 8811 2233.
	case len(d) == 8 && d[0] >= '5' && (n.shape(4, 4) && n.sepsIn("-", " ") || n.shape(2, 2, 2, 2) && n.sepsIn("-", " ")):
		return true
	// Uzbekistan: 90 123 45 67, (90) 123-45-67.
	case len(d) == 9 && uzCodes[d[:2]] && (n.shape(2, 3, 2, 2) || n.shape(2, 7) && strings.Contains(n.seps[0], ")")):
		return true
	// Russia and neighbours: 8 (916) 123-45-67.
	case len(d) == 11 && d[0] == '8' && len(g) >= 3 && len(g[0]) == 1 && len(g[1]) == 3:
		return true
	}
	// Any other number said to be a phone number.
	return len(d) >= 7 && len(d) <= 15 && n.near(phoneWords...)
}
