package guide

import (
	"regexp"
	"strings"

	"cleandrop/drop/jurisdiction"
)

// maxFound is how many dates, amounts or organisations a field lists.
const maxFound = 6

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

// datePatterns find dates as people write them, in any of the languages.
var datePatterns = []*regexp.Regexp{
	// 2026-03-04, 2026/3/4, 2026.03.04
	regexp.MustCompile(`\b(?:19|20)\d\d[-/.]\d{1,2}[-/.]\d{1,2}\b`),
	// 04.03.2026, 4/3/26, 04-03-2026
	regexp.MustCompile(`\b\d{1,2}[./-]\d{1,2}[./-](?:(?:19|20)\d\d|\d\d)\b`),
	// Korean: 2026년 3월 4일, 3월 4일, 지난해 3월
	regexp.MustCompile(`(?:(?:19|20)\d\d\s*년\s*)?\d{1,2}\s*월\s*(?:\d{1,2}\s*일|초|말|중순)?`),
	// Mongolian: 2026 оны 3 сарын 4, 3-р сарын 4-нд, 2026 оны 3 дугаар сар
	regexp.MustCompile(`(?i)(?:(?:19|20)\d\d\s*(?:оны|он)\s*)?\d{1,2}\s*(?:-?р|дугаар|дүгээр)?\s*сар(?:ын|д)?(?:\s*\d{1,2}(?:-?\p{Cyrillic}{1,4})?)?`),
	// English: 4 March 2026, 4th of March, March 4, 2026
	regexp.MustCompile(`(?i)\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:` + monthsEN + `)\b\.?(?:,?\s+(?:19|20)\d\d)?`),
	regexp.MustCompile(`(?i)\b(?:` + monthsEN + `)\.?\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+(?:19|20)\d\d)?`),
	// Russian: 4 марта 2026 года
	regexp.MustCompile(`(?i)\b\d{1,2}\s+(?:` + monthsRU + `)(?:\s+(?:19|20)\d\d(?:\s*(?:года|г\.))?)?`),
	// Serbian: 4. marta 2026., 4. марта
	regexp.MustCompile(`(?i)\b\d{1,2}\.?\s+(?:` + monthsSR + `)(?:\s+(?:19|20)\d\d\.?)?`),
	// Albanian: 4 mars 2026, më 4 mars
	regexp.MustCompile(`(?i)\b\d{1,2}\s+(?:` + monthsSQ + `)(?:\s+(?:19|20)\d\d)?`),
	// Uzbek: 2026-yil 4-mart, 4 mart kuni
	regexp.MustCompile(`(?i)(?:(?:19|20)\d\d[-\s]*(?:yil|йил)\S*\s*)?\b\d{1,2}[-\s]*(?:` + monthsUZ + `)`),
}

// amountPatterns find sums of money with their currency.
var amountPatterns = []*regexp.Regexp{
	// a currency sign before the number: $5,000, € 200, ₩3,000,000, ₮ 5 сая
	regexp.MustCompile(`(?i)[$€£₩₮₽]\s?\d[\d.,  ]*\d*(?:\s?(?:million|billion|mln|bn|k|thousand|млн|млрд|тыс\.?|сая|тэрбум|mijë|milion\pL*|miliard\pL*|ming|mlrd))?`),
	// a number, perhaps a multiplier, then a currency word or sign
	regexp.MustCompile(`(?i)\d[\d.,  ]*(?:\s?(?:천만|백만|십만|만|억|천|조|million|billion|mln|bn|thousand|млн\.?|млрд\.?|тыс\.?|тысяч\pL*|миллион\pL*|миллиард\pL*|сая|тэрбум|мянга(?:н)?|mijë|milion\pL*|miliard\pL*|hiljad\pL*|хиљад\pL*|милион\pL*|ming|million|mln|mlrd|milliard))*\s?` +
		`(?:원|₩|krw|won|төгрөг\pL*|төг\.?|₮|mnt|tugrik\pL*|euro\pL*|eur\b|€|евро|so['ʻ‘’` + "`" + `]?m\pL*|сўм\pL*|сум\pL*|uzs|лек\pL*|lek[eë]?\b|all\b|\$|usd|dollar\pL*|доллар\pL*|долл\.?|rub\pL*|руб\pL*|₽|dinar\pL*|динар\pL*|din\.|rsd|evr\pL*|евр\pL*|pound\pL*|gbp|£)`),
}

// orgPatterns find company and public body names.
var orgPatterns = []*regexp.Regexp{
	// Korean: 주식회사 한빛건설, (주)한빛, 한빛건설(주), 서울시설공단, 한국도로공사
	regexp.MustCompile(`(?:주식회사|\(주\)|㈜)\s?[\p{Hangul}A-Za-z0-9]+|[\p{Hangul}A-Za-z]+(?:\(주\)|㈜)|[\p{Hangul}]{1,10}(?:공사|공단|재단|시청|구청|군청|도청|병원|은행|건설|위원회|협회|조합)`),
	// Mongolian: "Алтан Тал" ХХК, Эрдэнэ ХК, ТӨХК
	regexp.MustCompile(`(?:[«"“]?\p{Cyrillic}[\p{Cyrillic}\-]*[»"”]?\s){1,3}(?:ХХК|ХК|ТӨХК|ТӨҮГ|ОНӨААТҮГ|ББСБ|ТББ)`),
	regexp.MustCompile(`(?i)\p{Cyrillic}+(?:\s\p{Cyrillic}+)?\s(?:яам|яамны|газар|газрын|хороо|хорооны|эмнэлэг|эмнэлгийн|банк|банкны|компани|компанийн|сургууль|сургуулийн)\b`),
	// Albanian: Ndërtimi sh.p.k., SH.P.K.
	regexp.MustCompile(`(?:[\p{Lu}][\p{L}\-]*\s){1,3}(?:sh\.p\.k\.?|SH\.P\.K\.?|[Ss]hpk|SHPK|Sh\.p\.k\.?|sh\.a\.|SH\.A\.)`),
	regexp.MustCompile(`(?:Ministria|Komuna|Agjencia|Drejtoria|Zyra|Inspektorati|Spitali|Universiteti)(?:\s(?:e|i|për|të)?\s?[\p{Lu}][\p{L}\-]+){1,3}`),
	// Serbian: Gradnja d.o.o., Градња д.о.о., Ministarstvo zdravlja
	regexp.MustCompile(`(?:[\p{Lu}][\p{L}\-]*\s){1,3}(?:d\.o\.o\.?|D\.O\.O\.?|DOO|doo|a\.d\.|A\.D\.|д\.о\.о\.?|Д\.О\.О\.?|а\.д\.|А\.Д\.)`),
	regexp.MustCompile(`(?:Ministarstvo|Министарство|Opština|Општина|Agencija|Агенција|Direkcija|Дирекција|Uprava|Управа|Bolnica|Болница)(?:\s\p{L}+){1,3}`),
	// Uzbek: "Qurilish Invest" MChJ, AJ, XK, ДУК
	regexp.MustCompile(`(?:[«"“]?[\p{Lu}][\p{L}'ʻ’\-]*[»"”]?\s){1,3}(?:MChJ|MCHJ|МЧЖ|AJ|АЖ|XK|ДУК|DUK|QK|ҚК)`),
	regexp.MustCompile(`(?i)[\p{L}'ʻ’]+\s(?:vazirligi|hokimligi|agentligi|qo['ʻ’]?mitasi|inspeksiyasi|departamenti|boshqarmasi|kasalxonasi|shifoxonasi|banki)`),
	// Russian: ООО «Строй», АО "Банк", Министерство здравоохранения
	regexp.MustCompile(`(?:ООО|ОАО|ЗАО|ПАО|АО|ИП|ГУП|МУП|ЧП|ООО\s?СП)\s?[«"“][^»"”\n]{1,40}[»"”]`),
	regexp.MustCompile(`(?i)(?:министерств\pL*|агентств\pL*|хокимият\pL*|департамент\pL*|управлени\pL*|инспекци\pL*|комитет\pL*|больниц\pL*)(?:\s\p{Cyrillic}+){1,2}`),
	// English: Acme Building Ltd, Northwind LLC, Ministry of Health
	regexp.MustCompile(`(?:[\p{Lu}][\p{L}&'\-]*\s){1,4}(?:LLC|Ltd\.?|Limited|Inc\.?|Corp\.?|Corporation|GmbH|plc|PLC|S\.A\.|SA|Co\.)`),
	regexp.MustCompile(`(?:Ministry|Department|Office|Agency|Authority|Council|Directorate|Inspectorate|Hospital)\sof\s(?:the\s)?[\p{Lu}][\p{L}\-]+(?:\s(?:and\s)?[\p{Lu}][\p{L}\-]+){0,2}`),
}

// orgName is one pack body's name in one language, folded for search.
type orgName struct {
	lang   string // language whose folding made folded
	folded []string
}

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
			fl := l
			if fl == "translit" {
				fl = "en"
			}
			var parts []string
			for _, t := range tokens(n, fl) {
				parts = append(parts, t.norm)
			}
			if len(parts) > 0 {
				out = append(out, orgName{lang: fl, folded: parts})
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

// findAll runs patterns over text, longest finds first kept.
func findAll(text string, patterns []*regexp.Regexp) []string {
	type span struct{ s, e int }
	var spans []span
	for _, re := range patterns {
		for _, m := range re.FindAllStringIndex(text, -1) {
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
	var f found
	for _, s := range keep {
		f.add(text[s.s:s.e])
	}
	return f.list
}

// dates lists the dates written in text.
func dates(text string) []string { return findAll(text, datePatterns) }

// amounts lists the sums of money written in text.
func amounts(text string) []string { return findAll(text, amountPatterns) }

// organisations lists the pack's bodies named in text (as written), and
// company or public body names found by their form.
func (g *Guide) organisations(text string) []string {
	var f found
	type span struct{ s, e int }
	var spans []span
	toksBy := map[string][]token{}
	for _, o := range g.orgs {
		toks, ok := toksBy[o.lang]
		if !ok {
			toks = tokens(text, o.lang)
			toksBy[o.lang] = toks
		}
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
				spans = append(spans, span{toks[i].start, toks[i+len(o.folded)-1].end})
			}
		}
	}
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].s < spans[j-1].s; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	for _, s := range spans {
		f.add(text[s.s:s.e])
	}
	for _, s := range findAll(text, orgPatterns) {
		f.add(s)
	}
	return f.list
}
