package guide

import (
	"regexp"
	"slices"
	"strings"

	"cleandrop/drop/jurisdiction"
)

// maxFound is how many dates, amounts or organisations a field lists.
const maxFound = 6

// maxMatches bounds the matches one pattern reports in a draft: enough
// for maxFound distinct finds, and a bound on the work.
const maxMatches = 24

// Month names, by language, as a regular expression alternative (lower
// case; the patterns match case-insensitively). Endings vary, so these
// are stems followed by letters.
const (
	monthsEN = `jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?`
	monthsRU = `январ\pL*|феврал\pL*|март\pL*|апрел\pL*|ма[йя]|июн\pL*|июл\pL*|август\pL*|сентябр\pL*|октябр\pL*|ноябр\pL*|декабр\pL*`
	monthsSR = `januar\pL*|februar\pL*|mart\pL*|april\pL*|maj\pL*|jun\pL*|jul\pL*|avgust\pL*|septemb[ae]r\pL*|oktob[ae]r\pL*|novemb[ae]r\pL*|decemb[ae]r\pL*|` +
		`јануар\pL*|фебруар\pL*|март\pL*|април\pL*|мај\pL*|јун\pL*|јул\pL*|август\pL*|септемб[ае]р\pL*|октоб[ае]р\pL*|новемб[ае]р\pL*|децемб[ае]р\pL*`
	monthsSQ = `janar\pL*|shkurt\pL*|mars\pL*|prill\pL*|maj\pL*|qershor\pL*|korrik\pL*|gusht\pL*|shtator\pL*|tetor\pL*|n[eë]ntor\pL*|dhjetor\pL*`
	monthsUZ = `yanvar\pL*|fevral\pL*|mart\pL*|aprel\pL*|may\pL*|iyun\pL*|iyul\pL*|avgust\pL*|sentabr\pL*|oktabr\pL*|noyabr\pL*|dekabr\pL*|` +
		`январ\pL*|феврал\pL*|март\pL*|апрел\pL*|май\pL*|июн\pL*|июл\pL*|август\pL*|сентябр\pL*|октябр\pL*|ноябр\pL*|декабр\pL*`
)

// pattern is a regular expression and the strings (lower case) one of
// which a text must contain for it to match at all: a cheap test that
// spares running it on most drafts.
type pattern struct {
	re  *regexp.Regexp
	any []string
}

func pat(re string, any ...string) pattern { return pattern{regexp.MustCompile(re), any} }

// datePatterns find dates as people write them, in any of the languages.
var datePatterns = []pattern{
	// 2026-03-04, 2026/3/4, 2026.03.04
	pat(`\b(?:19|20)\d\d[-/.]\d{1,2}[-/.]\d{1,2}\b`),
	// 04.03.2026, 4/3/26, 04-03-2026
	pat(`\b\d{1,2}[./-]\d{1,2}[./-](?:(?:19|20)\d\d|\d\d)\b`),
	// Korean: 2026년 3월 4일, 3월 4일, 지난해 3월
	pat(`(?:(?:19|20)\d\d\s*년\s*)?\d{1,2}\s*월\s*(?:\d{1,2}\s*일|초|말|중순)?`, "월"),
	// Mongolian: 2026 оны 3 сарын 4, 3-р сарын 4-нд, 2026 оны 3 дугаар сар
	pat(`(?i)(?:(?:19|20)\d\d\s*(?:оны|он)\s*)?\d{1,2}\s*(?:-?р|дугаар|дүгээр)?\s*сар(?:ын|д)?(?:\s*\d{1,2}(?:-?\p{Cyrillic}{1,4})?)?`, "сар"),
	// English: 4 March 2026, 4th of March, March 4, 2026
	pat(`(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:`+monthsEN+`)\b\.?(?:,?\s+(?:19|20)\d\d)?`, "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
	pat(`(?i)\b(?:`+monthsEN+`)\.?\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+(?:19|20)\d\d)?`, "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
	// Russian: 4 марта 2026 года
	pat(`(?i)\b\d{1,2}\s+(?:`+monthsRU+`)(?:\s+(?:19|20)\d\d(?:\s*(?:года|г\.))?)?`, "январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"),
	// Serbian: 4. marta 2026., 4. марта
	pat(`(?i)\b\d{1,2}\.?\s+(?:`+monthsSR+`)(?:\s+(?:19|20)\d\d\.?)?`, "januar", "februar", "mart", "april", "maj", "jun", "jul", "avgust", "septemb", "oktob", "novemb", "decemb", "јануар", "фебруар", "март", "април", "мај", "јун", "јул", "август", "септемб", "октоб", "новемб", "децемб"),
	// Albanian: 4 mars 2026, më 4 mars
	pat(`(?i)\b\d{1,2}\s+(?:`+monthsSQ+`)(?:\s+(?:19|20)\d\d)?`, "janar", "shkurt", "mars", "prill", "maj", "qershor", "korrik", "gusht", "shtator", "tetor", "ntor", "dhjetor"),
	// Uzbek: 2026-yil 4-mart, 4 mart kuni
	pat(`(?i)(?:(?:19|20)\d\d[-\s]*(?:yil|йил)\S*\s*)?\b\d{1,2}[-\s]*(?:`+monthsUZ+`)`, "yanvar", "fevral", "mart", "aprel", "may", "iyun", "iyul", "avgust", "sentabr", "oktabr", "noyabr", "dekabr", "январ", "феврал", "март", "апрел", "май", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"),
}

// amountPatterns find sums of money with their currency.
var amountPatterns = []pattern{
	// a currency sign before the number: $5,000, € 200, ₩3,000,000, ₮ 5 сая
	pat(`(?i)[$€£₩₮₽]\s?\d[\d.,  ]*\d*(?:\s?(?:million|billion|mln|bn|k|thousand|млн|млрд|тыс\.?|сая|тэрбум|mijë|milion\pL*|miliard\pL*|ming|mlrd))?`, "$", "€", "£", "₩", "₮", "₽"),
	// a number, perhaps a multiplier, then a currency word or sign
	pat(`(?i)\d[\d.,  ]*(?:\s?(?:천만|백만|십만|만|억|천|조|million|billion|mln|bn|thousand|млн\.?|млрд\.?|тыс\.?|тысяч\pL*|миллион\pL*|миллиард\pL*|сая|тэрбум|мянга(?:н)?|mijë|milion\pL*|miliard\pL*|hiljad\pL*|хиљад\pL*|милион\pL*|ming|million|mln|mlrd|milliard))*\s?`+
		`(?:원|₩|krw|won|төгрөг\pL*|төг\.?|₮|mnt|tugrik\pL*|euro\pL*|eur\b|€|евро|so['ʻ‘’`+"`"+`]?m\pL*|сўм\pL*|сум\pL*|uzs|лек\pL*|lek[eë]?|all\b|\$|usd|dollar\pL*|доллар\pL*|долл\.?|rub\pL*|руб\pL*|₽|dinar\pL*|динар\pL*|din\.|rsd|evr\pL*|евр\pL*|pound\pL*|gbp|£)`, "원", "₩", "krw", "won", "төг", "₮", "mnt", "tugrik", "eur", "€", "евро", "so", "сўм", "сум", "uzs", "лек", "lek", "all", "$", "usd", "dollar", "доллар", "долл", "rub", "руб", "₽", "dinar", "динар", "din.", "rsd", "evr", "евр", "pound", "gbp", "£"),
}

// companyPatterns find company names by their legal form. Their words
// are a name, not evidence: the guide does not score them.
var companyPatterns = []pattern{
	// Korean: 주식회사 한빛건설, (주)한빛, 한빛건설(주), 서울시설공단, 한국도로공사
	pat(`(?:주식회사|\(주\)|㈜)\s?[\p{Hangul}A-Za-z0-9]+|[\p{Hangul}A-Za-z]+(?:\(주\)|㈜)|[\p{Hangul}]{1,10}건설`, "주식회사", "(주)", "㈜", "건설"),
	// Mongolian: "Алтан Тал" ХХК, Эрдэнэ ХК, ТӨХК
	pat(`(?:[«"“]?\p{Cyrillic}[\p{Cyrillic}\-]*[»"”]?\s){1,3}(?:ХХК|ХК|ТӨХК|ТӨҮГ|ОНӨААТҮГ|ББСБ|ТББ)`, "хк", "тбб", "төүг", "ббсб"),
	// Albanian: Ndërtimi sh.p.k., SH.P.K.
	pat(`(?:[\p{Lu}][\p{L}\-]*\s){1,3}(?:sh\.p\.k\.?|SH\.P\.K\.?|[Ss]hpk|SHPK|Sh\.p\.k\.?|sh\.a\.|SH\.A\.)`, "sh.p.k", "shpk", "sh.a."),
	// Serbian: Gradnja d.o.o., Градња д.о.о.
	pat(`(?:[\p{Lu}][\p{L}\-]*\s){1,3}(?:d\.o\.o\.?|D\.O\.O\.?|DOO|doo|a\.d\.|A\.D\.|д\.о\.о\.?|Д\.О\.О\.?|а\.д\.|А\.Д\.)`, "d.o.o", "doo", "a.d.", "д.о.о", "а.д."),
	// Uzbek: "Qurilish Invest" MChJ, AJ, XK, ДУК
	pat(`(?:[«"“]?[\p{Lu}][\p{L}'ʻ’\-]*[»"”]?\s){1,3}(?:MChJ|MCHJ|МЧЖ|AJ|АЖ|XK|ДУК|DUK|QK|ҚК)`, "mchj", "мчж", "aj", "аж", "xk", "дук", "duk", "qk", "қк"),
	// Russian: ООО «Строй», АО "Банк"
	pat(`(?:ООО|ОАО|ЗАО|ПАО|АО|ИП|ГУП|МУП|ЧП|ООО\s?СП)\s?[«"“][^»"”\n]{1,40}[»"”]`, "ооо", "оао", "зао", "пао", "ао", "ип", "гуп", "муп", "чп"),
	// English: Acme Building Ltd, Northwind LLC
	pat(`(?:[\p{Lu}][\p{L}&'\-]*\s){1,4}(?:LLC|Ltd\.?|Limited|Inc\.?|Corp\.?|Corporation|GmbH|plc|PLC|S\.A\.|SA|Co\.)`, "llc", "ltd", "limited", "inc", "corp", "gmbh", "plc", "s.a.", "sa", "co."),
}

// bodyPatterns find public bodies and institutions by their words.
var bodyPatterns = []pattern{
	// Korean: 서울시설공단, 한국도로공사, ○○구청
	pat(`[\p{Hangul}]{1,10}(?:공사|공단|재단|시청|구청|군청|도청|병원|은행|위원회|협회|조합)`, "공사", "공단", "재단", "시청", "구청", "군청", "도청", "병원", "은행", "위원회", "협회", "조합"),
	// Mongolian: Эрүүл мэндийн яам, Татварын газар
	pat(`(?i)\p{Cyrillic}+(?:\s\p{Cyrillic}+)?\s(?:яам|яамны|газар|газрын|хороо|хорооны|эмнэлэг|эмнэлгийн|банк|банкны|компани|компанийн|сургууль|сургуулийн)`, "яам", "газар", "газр", "хороо", "эмнэл", "банк", "компани", "сургуул"),
	// Albanian, Serbian, Uzbek, Russian, English
	pat(`(?:Ministria|Komuna|Agjencia|Drejtoria|Zyra|Inspektorati|Spitali|Universiteti)(?:\s(?:e|i|për|të)?\s?[\p{Lu}][\p{L}\-]+){1,3}`, "ministria", "komuna", "agjencia", "drejtoria", "zyra", "inspektorati", "spitali", "universiteti"),
	pat(`(?:Ministarstvo|Министарство|Opština|Општина|Agencija|Агенција|Direkcija|Дирекција|Uprava|Управа|Bolnica|Болница)(?:\s\p{L}+){1,3}`, "ministarstvo", "министарство", "opštin", "општин", "agencij", "агенциј", "direkcij", "дирекциј", "uprav", "управ", "bolnic", "болниц"),
	pat(`(?i)[\p{L}'ʻ’]+\s(?:vazirligi|hokimligi|agentligi|qo['ʻ’]?mitasi|inspeksiyasi|departamenti|boshqarmasi|kasalxonasi|shifoxonasi|banki)`, "vazirligi", "hokimligi", "agentligi", "mitasi", "inspeksiyasi", "departamenti", "boshqarmasi", "kasalxonasi", "shifoxonasi", "banki"),
	pat(`(?i)(?:министерств\pL*|агентств\pL*|хокимият\pL*|департамент\pL*|управлени\pL*|инспекци\pL*|комитет\pL*|больниц\pL*)(?:\s\p{Cyrillic}+){1,2}`, "министерств", "агентств", "хокимият", "департамент", "управлени", "инспекци", "комитет", "больниц"),
	pat(`(?:Ministry|Department|Office|Agency|Authority|Council|Directorate|Inspectorate|Hospital)\sof\s(?:the\s)?[\p{Lu}][\p{L}\-]+(?:\s(?:and\s)?[\p{Lu}][\p{L}\-]+){0,2}`, "ministry", "department", "office", "agency", "authority", "council", "directorate", "inspectorate", "hospital"),
}

// orgName is one pack body's name in one language, folded for search.
type orgName struct {
	name   string   // as the pack writes it
	folded []string // its words folded with nameFold
}

// nameFold is the folding body names and drafts are compared in: the
// Serbian one, which also drops the Uzbek marks and makes the Serbian
// scripts one; any other letter is only lower-cased, the same on both
// sides.
const nameFold = "sr"

// bodyNames lists every name of every body of the pack.
func bodyNames(p *jurisdiction.Pack) []orgName {
	var out []orgName
	for _, b := range p.Bodies {
		names := map[string]string{"en": b.Name}
		for l, n := range b.Names {
			names[l] = n
		}
		if b.Translit != "" {
			names["translit"] = b.Translit
		}
		for _, l := range []string{"en", "ko", "mn", "ru", "sq", "sr", "uz", "translit"} {
			n := names[l]
			if n == "" {
				continue
			}
			var parts []string
			for _, t := range tokens(n, nameFold) {
				parts = append(parts, t.norm)
			}
			if len(parts) > 0 {
				out = append(out, orgName{name: n, folded: parts})
			}
		}
	}
	return out
}

// found collects distinct strings, first seen first.
type found struct {
	list []string
	seen map[string]bool
}

func (f *found) add(s string) {
	s = strings.TrimSpace(strings.Trim(s, " ,.;:"))
	if s == "" || len(f.list) >= maxFound {
		return
	}
	k := strings.ToLower(s)
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	for prev := range f.seen {
		if strings.Contains(prev, k) {
			return // already inside a longer find
		}
	}
	f.seen[k] = true
	f.list = append(f.list, s)
}

// span is a byte range of a draft.
type span struct{ s, e int }

// findAll runs patterns over text, longest finds first kept.
func findAll(text string, patterns []pattern) []string {
	var f found
	for _, s := range findSpans(text, patterns) {
		f.add(text[s.s:s.e])
	}
	return f.list
}

// findSpans returns where patterns match text, in text order, a match
// inside a longer one left out.
func findSpans(text string, patterns []pattern) []span {
	var spans []span
	lower := ""
	for _, p := range patterns {
		if len(p.any) > 0 {
			if lower == "" {
				lower = strings.ToLower(text)
			}
			if !slices.ContainsFunc(p.any, func(s string) bool { return strings.Contains(lower, s) }) {
				continue
			}
		}
		for _, m := range p.re.FindAllStringIndex(text, maxMatches) {
			spans = append(spans, span{m[0], m[1]})
		}
	}
	// keep spans not inside another, in text order
	var keep []span
	for i, a := range spans {
		inside := false
		for j, b := range spans {
			if i != j && b.s <= a.s && a.e <= b.e && (b.e-b.s > a.e-a.s || j < i) {
				inside = true
				break
			}
		}
		if !inside {
			keep = append(keep, a)
		}
	}
	for i := 1; i < len(keep); i++ {
		for j := i; j > 0 && keep[j].s < keep[j-1].s; j-- {
			keep[j], keep[j-1] = keep[j-1], keep[j]
		}
	}
	return keep
}

// koreanParticles are endings a Korean company name may carry in a
// sentence ((주)한빛건설과, (주)한빛건설의).
var koreanParticles = []string{"에서", "에게", "으로", "과", "와", "은", "는", "을", "를", "의", "에"}

// trimParticle removes a Korean particle from the end of a company name
// written with (주), ㈜ or 주식회사.
func trimParticle(s string) string {
	if !strings.Contains(s, "(주)") && !strings.Contains(s, "㈜") && !strings.Contains(s, "주식회사") {
		return s
	}
	for _, p := range koreanParticles {
		if t, ok := strings.CutSuffix(s, p); ok && t != "" && !strings.HasSuffix(t, ")") && !strings.HasSuffix(t, "㈜") {
			return t
		}
	}
	return s
}

// dates lists the dates written in text.
func dates(text string) []string { return findAll(text, datePatterns) }

// amounts lists the sums of money written in text.
func amounts(text string) []string { return findAll(text, amountPatterns) }

// organisations lists the pack's bodies named in text (as written), and
// company or public body names found by their form.
func (g *Guide) organisations(text string) []string {
	var f found
	type named struct {
		span
		name string
	}
	var spans []named
	toks := tokens(text, nameFold)
	for _, o := range g.orgs {
		for i := 0; i+len(o.folded) <= len(toks); i++ {
			ok := true
			for j, p := range o.folded {
				w := toks[i+j].norm
				// the last word may carry an ending (Mongolian газрын, Serbian полиције)
				if w != p && !(j == len(o.folded)-1 && len(p) >= 4 && strings.HasPrefix(w, p[:len(p)-len(p)/4])) {
					ok = false
					break
				}
			}
			if ok {
				spans = append(spans, named{span{toks[i].start, toks[i+len(o.folded)-1].end}, o.name})
			}
		}
	}
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].s < spans[j-1].s; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	// a pack body is named as the pack writes it (without the case
	// ending the draft gave it)
	for _, s := range spans {
		f.add(s.name)
	}
	for _, s := range findAll(text, companyPatterns) {
		f.add(trimParticle(s))
	}
	for _, s := range findAll(text, bodyPatterns) {
		f.add(s)
	}
	return f.list
}
