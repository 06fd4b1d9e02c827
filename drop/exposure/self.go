package exposure

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Self-identification: the writer saying who they are, what they do or
// where, in words that narrow them down ("my name is", "I am the
// accountant of", "I work as … at …", "as the only nurse on the night
// shift"). Each pattern is the phrase that starts the passage; the passage
// runs on to the end of its clause, since what follows is what
// identifies. Patterns need a role or a place word where the bare phrase
// is common ("I am a bit worried" is not one).
var selfPatterns = []selfPattern{
	// English
	{en, `my name(?: is|'s)`, "", 0}, {en, `my (?:position|job title|job|role|post) (?:is|was)\b`, "", 0},
	{en, `i am called`, "", 0}, {en, `i['’]m called`, "", 0},
	{en, `i(?: am|['’]m|\s+was) (?:the|a|an|one of (?:the|two|three|only)) (?:[\w-]+ ){0,3}?(?:of|at|in|for|on)\b`, "", 0},
	{en, `i(?: am|['’]m|\s+was) the (?:only|sole|single)\b`, "", 0},
	{en, `i (?:work|worked|have worked|am working) (?:as|at|in|for)\b`, "", 0}, {en, `i['’]m working (?:as|at|in|for)\b`, "", 0},
	{en, `i am employed (?:as|at|by)\b`, "", 0}, {en, `as the (?:only|sole|single)\b`, "", 0},
	{en, `i(?: am|['’]m) (?:the )?head of\b`, "", 0},
	// Korean
	{nil, `(?:제|내|저의|나의)\s*이름은`, "", 0},
	{nil, `(?:저는|나는|본인은|제가)\s`, `근무|일하|일합|재직|직원|담당자|담당하|간호사|회계|경리|과장|팀장|주무관|소속`, 60},
	{nil, `유일한\s`, `간호사|직원|담당자|회계|경리|사람|근무자|기사|교사|의사`, 30},
	// Mongolian
	{nil, `(?:миний|минийх)\s+нэр`, "", 0}, {nil, `намайг\s+\S+\s+гэдэг`, "", 0}, {nil, `нэрийг минь`, "", 0},
	{nil, `би\s`, `ажилладаг|ажиллаж байгаа|ажиллаж байна|ажилтан|нягтлан|сувилагч|эмч|багш|жолооч|менежер|дарга|мэргэжилтэн`, 60},
	{nil, `цорын ганц\s`, `сувилагч|ажилтан|нягтлан|эмч|багш|жолооч|хүн`, 30},
	// Albanian
	{nil, `emri im (?:është|eshte|ë|e)\b`, "", 0}, {[]string{"unë", "une", "quhem"}, `(?:unë |une )?quhem\b`, "", 0},
	{nil, `(?:unë|une)\s+jam\s`, `kontabilist|infermier|punonjës|punonjes|zyrtar|mjek|mësues|mesues|shofer|drejtor|shef|i vetmi|e vetmja`, 40},
	{nil, `punoj (?:si|në|ne|për|per|tek|te)\b`, "", 0}, {nil, `si (?:i vetmi|e vetmja)\b`, "", 0}, {nil, `(?:jam|isha) (?:i vetmi|e vetmja)\b`, "", 0},
	// Serbian, Latin script
	{nil, `moje ime je\b`, "", 0}, {nil, `zovem se\b`, "", 0},
	{nil, `ja sam\s`, `računovođa|racunovodja|knjigovođa|knjigovodja|sestra|zaposlen|službenik|sluzbenik|službenica|sluzbenica|vozač|vozac|lekar|ljekar|nastavnik|direktor|šef|jedini|jedina`, 40},
	{nil, `radim (?:kao|u|na|za)\b`, "", 0}, {nil, `(?:kao|bio sam|bila sam) (?:jedini|jedina)\b`, "", 0},
	// Serbian, Cyrillic script
	{nil, `моје име је`, "", 0}, {nil, `зовем се`, "", 0},
	{nil, `ја сам\s`, `рачуновођа|књиговођа|сестра|запослен|службеник|службеница|возач|лекар|љекар|наставник|директор|шеф|једини|једина`, 40},
	{nil, `радим (?:као|у|на|за)\s`, "", 0}, {nil, `(?:као|био сам|била сам) (?:једини|једина)\s`, "", 0},
	// Uzbek (Latin script)
	{nil, `mening ismim`, "", 0}, {nil, `ismim\s`, "", 0},
	{nil, `men\s`, `ishlayman|ishlaganman|xodimiman|xodimman|hisobchiman|hisobchisiman|buxgalterman|buxgalteriman|hamshiraman|shifokorman|oʻqituvchiman|o'qituvchiman|o‘qituvchiman|o’qituvchiman|haydovchiman|boshligʻiman|boshlig'iman|boshlig‘iman|boshlig’iman`, 60},
	{nil, `yagona\s`, `hamshira|xodim|hisobchi|buxgalter|haydovchi|odam|shifokor`, 30},
	// Russian
	{nil, `меня зовут`, "", 0}, {[]string{"мое", "моё"}, `мо[её] имя`, "", 0}, {nil, `моя фамилия`, "", 0}, {nil, `я работаю\s`, "", 0}, {nil, `работаю (?:в|на|кем|как)\s`, "", 0},
	{nil, `я\s+(?:являюсь\s+)?(?:главн\S*\s+)?(?:бухгалтер|медсестр|сотрудни|работни|врач|учител|водител|начальни|заведующ|инженер)`, "", 0},
	{nil, `(?:как|будучи) единственн`, "", 0}, {nil, `я\s+(?:был[аи]?\s+)?единственн`, "", 0},
}

// en marks the English patterns: their first words are listed by hand
// (the apostrophe of "i'm" belongs to the word).
var en = []string{"my", "i", "i'm", "i’m", "as"}

// selfPattern is a phrase that starts a self-identification. With a
// role, the phrase alone is too common ("저는", "би", "men"): one of the
// role words must follow within window characters of the same clause.
type selfPattern struct {
	first         []string // the words it can start with; nil: read off the trigger (a literal word or a leading group of them)
	trigger, role string
	window        int
}

// The patterns are tried only where a word starts that one of them can
// start with: one map look-up per word, and a short anchored match now
// and then, instead of a regular expression of fifty alternatives run
// over the whole draft (seconds for a long one).
var (
	selfStarts map[string]*starts // by first word, lower-cased
	selfTrig   []*regexp.Regexp   // by pattern, anchored
	selfRoles  [][]string         // by pattern: nil, or the role words (lower-case) that must follow
)

// starts are the patterns one word can start: those without a role
// joined into one expression (tried in their order), and those with one.
type starts struct {
	plain  *regexp.Regexp
	alts   []string
	roled  []int
	plains []int // for the test that every pattern is reached
}

// firstWord reads the words a trigger can start with: its leading
// literal word, or each word of a leading (?:a|b|c) group.
var firstWord = regexp.MustCompile(`^(?:\(\?:([^()]+)\)|([\p{L}]+))`)

func init() {
	selfStarts = map[string]*starts{}
	for i, p := range selfPatterns {
		first := p.first
		if first == nil {
			m := firstWord.FindStringSubmatch(p.trigger)
			if m == nil {
				panic("exposure: no first word in " + p.trigger)
			}
			if m[1] != "" {
				for _, alt := range strings.Split(m[1], "|") {
					first = append(first, strings.Fields(alt)[0])
				}
			} else {
				first = []string{m[2]}
			}
		}
		for _, w := range first {
			w = strings.ToLower(w)
			st := selfStarts[w]
			if st == nil {
				st = &starts{}
				selfStarts[w] = st
			}
			if p.role == "" {
				st.alts = append(st.alts, p.trigger)
				st.plains = append(st.plains, i)
			} else {
				st.roled = append(st.roled, i)
			}
		}
		selfTrig = append(selfTrig, regexp.MustCompile(`^(?i:`+p.trigger+`)`))
		var role []string
		if p.role != "" {
			role = strings.Split(strings.ToLower(p.role), "|")
		}
		selfRoles = append(selfRoles, role)
	}
	for _, st := range selfStarts {
		if len(st.alts) > 0 {
			st.plain = regexp.MustCompile(`^(?i:` + strings.Join(st.alts, "|") + `)`)
		}
	}
}

type selfCand struct {
	Finding
	trigger int // end of the phrase that started it: the passage keeps at least that
}

// isWordRune: letters, digits and the apostrophes inside a word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’' || r == 'ʻ' || r == 'ʼ'
}

// maxTrigger bounds the text a trigger is matched against, in bytes.
const maxTrigger = 256

func selfs(text string) []selfCand {
	var out []selfCand
	end := 0 // where the last passage ends: the next starts after it
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		s := i
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if !isWordRune(r) {
				break
			}
			i += n
		}
		if s < end {
			continue
		}
		st := selfStarts[strings.ToLower(text[s:i])]
		if st == nil {
			continue
		}
		span := text[s:min(len(text), s+maxTrigger)]
		t := -1
		if st.plain != nil {
			if loc := st.plain.FindStringIndex(span); loc != nil {
				t = s + loc[1]
			}
		}
		for _, k := range st.roled {
			if t >= 0 {
				break
			}
			loc := selfTrig[k].FindStringIndex(span)
			if loc == nil {
				continue
			}
			e := s + loc[1]
			if r := roleEnd(text[e:within(text, e, selfPatterns[k].window)], selfRoles[k]); r >= 0 {
				t = e + r
			}
		}
		if t < 0 {
			continue
		}
		for t > s && (text[t-1] == ' ' || text[t-1] == '\n' || text[t-1] == '\t') {
			t--
		}
		c := selfCand{Finding: Finding{Kind: Self, Start: s, End: clauseEnd(text, s, t)}, trigger: t}
		out = append(out, c)
		end = c.End
	}
	return out
}

// roleEnd is where the first of words in win ends (case aside), or -1.
func roleEnd(win string, words []string) int {
	low := strings.ToLower(win)
	if len(low) != len(win) { // a letter that changes size: compare as written
		low = win
	}
	best, end := -1, -1
	for _, w := range words {
		if i := strings.Index(low, w); i >= 0 && (best < 0 || i < best) {
			best, end = i, i+len(w)
		}
	}
	return end
}

// within is where the n characters after i end, or the clause, first.
func within(text string, i, n int) int {
	for ; n > 0 && i < len(text); n-- {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == '.' || r == '!' || r == '?' || r == '\n' {
			break
		}
		i += size
	}
	return i
}

// maxSelf bounds a self-identification passage, in bytes.
const maxSelf = 160

// clauseEnd is where the clause that starts at s ends: at a full stop,
// comma, semicolon, line end or after maxSelf bytes (at a word break), but
// never before t.
func clauseEnd(text string, s, t int) int {
	i := t
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if strings.ContainsRune(".,;:!?\n。()\"«»“”", r) {
			return i
		}
		if i+n-s > maxSelf {
			if sp := strings.LastIndexAny(text[t:i], " \t"); sp > 0 {
				return t + sp
			}
			return i
		}
		i += n
	}
	return i
}

// trimRight drops spaces and dashes at the end of text[s:e].
func trimRight(text string, s, e int) int {
	for e > s {
		r, n := utf8.DecodeLastRuneInString(text[s:e])
		if !strings.ContainsRune(" \t\r\n-–—", r) {
			break
		}
		e -= n
	}
	return e
}
