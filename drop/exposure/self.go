package exposure

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Self-identification: the writer saying who they are, what they do or
// where, in words that narrow them down ("my name is", "I am the
// accountant of", "I work as … at …", "as the only nurse on the night
// shift"). Each pattern is the phrase that starts the passage; the passage
// runs on to the end of its clause, since what follows is what
// identifies. Patterns need a role or a place word where the bare phrase
// is common ("I am a bit worried" is not one).
var selfPatterns = []string{
	// English
	`my name(?: is|'s)`, `i am called`, `i'm called`,
	`i(?: am|'m|\s+was) (?:the|a|an|one of (?:the|two|three|only)) (?:[\w-]+ ){0,3}?(?:of|at|in|for|on)\b`,
	`i(?: am|'m|\s+was) the (?:only|sole|single)\b`,
	`i (?:work|worked|have worked|am working) (?:as|at|in|for)\b`, `i'm working (?:as|at|in|for)\b`,
	`i am employed (?:as|at|by)\b`, `as the (?:only|sole|single)\b`,
	`my (?:position|job title|job|role|post) (?:is|was)\b`, `i(?: am|'m) (?:the )?head of\b`,
	// Korean
	`(?:제|내|저의|나의)\s*이름은`,
	`(?:저는|나는|본인은|제가)\s[^.!?\n]{0,60}?(?:근무|일하|일합|재직|직원|담당자|담당하|간호사|회계|경리|과장|팀장|주무관|소속)`,
	`유일한\s[^.!?\n]{0,30}?(?:간호사|직원|담당자|회계|경리|사람|근무자|기사|교사|의사)`,
	// Mongolian
	`(?:миний|минийх)\s+нэр`, `намайг\s+\S+\s+гэдэг`, `нэрийг минь`,
	`би\s[^.!?\n]{0,60}?(?:ажилладаг|ажиллаж байгаа|ажиллаж байна|ажилтан|нягтлан|сувилагч|эмч|багш|жолооч|менежер|дарга|мэргэжилтэн)`,
	`цорын ганц\s[^.!?\n]{0,30}?(?:сувилагч|ажилтан|нягтлан|эмч|багш|жолооч|хүн)`,
	// Albanian
	`emri im (?:është|eshte|ë|e)\b`, `(?:unë |une )?quhem\b`,
	`(?:unë|une)\s+jam\s+[^.!?\n]{0,40}?(?:kontabilist|infermier|punonjës|punonjes|zyrtar|mjek|mësues|mesues|shofer|drejtor|shef|i vetmi|e vetmja)`,
	`punoj (?:si|në|ne|për|per|tek|te)\b`, `si (?:i vetmi|e vetmja)\b`, `(?:jam|isha) (?:i vetmi|e vetmja)\b`,
	// Serbian, Latin script
	`moje ime je\b`, `zovem se\b`,
	`ja sam\s[^.!?\n]{0,40}?(?:računovođa|racunovodja|knjigovođa|knjigovodja|sestra|zaposlen|službenik|sluzbenik|službenica|sluzbenica|vozač|vozac|lekar|ljekar|nastavnik|direktor|šef|jedini|jedina)`,
	`radim (?:kao|u|na|za)\b`, `(?:kao|bio sam|bila sam) (?:jedini|jedina)\b`,
	// Serbian, Cyrillic script
	`моје име је`, `зовем се`,
	`ја сам\s[^.!?\n]{0,40}?(?:рачуновођа|књиговођа|сестра|запослен|службеник|службеница|возач|лекар|љекар|наставник|директор|шеф|једини|једина)`,
	`радим (?:као|у|на|за)\s`, `(?:као|био сам|била сам) (?:једини|једина)\s`,
	// Uzbek (Latin script)
	`mening ismim`, `ismim\s`,
	`men\s[^.!?\n]{0,60}?(?:ishlayman|ishlaganman|xodimiman|xodimman|hisobchiman|hisobchisiman|buxgalterman|buxgalteriman|hamshiraman|shifokorman|o[ʻ'‘’` + "`" + `]qituvchiman|haydovchiman|boshlig[ʻ'‘’` + "`" + `]iman)`,
	`yagona\s[^.!?\n]{0,30}?(?:hamshira|xodim|hisobchi|buxgalter|haydovchi|odam|shifokor)`,
	// Russian
	`меня зовут`, `мо[её] имя`, `моя фамилия`, `я работаю\s`, `работаю (?:в|на|кем|как)\s`,
	`я\s+(?:являюсь\s+)?(?:главн\S*\s+)?(?:бухгалтер|медсестр|сотрудни|работни|врач|учител|водител|начальни|заведующ|инженер)`,
	`(?:как|будучи) единственн`, `я\s+(?:был[аи]?\s+)?единственн`,
}

var selfRE = regexp.MustCompile(`(?i)(?:^|[^\p{L}\p{N}])(` + strings.Join(selfPatterns, "|") + `)`)

type selfCand struct {
	Finding
	trigger int // end of the phrase that started it: the passage keeps at least that
}

// maxSelf bounds a self-identification passage, in bytes.
const maxSelf = 160

func selfs(text string) []selfCand {
	var out []selfCand
	for _, m := range selfRE.FindAllStringSubmatchIndex(text, -1) {
		s, t := m[2], m[3]
		for t > s && (text[t-1] == ' ' || text[t-1] == '\n' || text[t-1] == '\t') {
			t--
		}
		out = append(out, selfCand{Finding: Finding{Kind: Self, Start: s, End: clauseEnd(text, s, t)}, trigger: t})
	}
	return out
}

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
