package guide

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// benchDrafts are one paragraph per language, repeated to 5,000
// characters in BenchmarkSuggest.
var benchDrafts = []struct{ pack, lang, text string }{
	{"eu", "en", "On 4 March 2026 the director of Acme Building LLC paid the inspector €5,000 in an envelope so he would look the other way; the tender for the school roof was tailored to his cousin's firm and the workers were paid in cash without contracts. "},
	{"kr", "ko", "2026년 3월 4일 (주)한빛건설 대표가 시청 공무원에게 현금 500만원을 봉투에 담아 건넸고, 입찰 규격은 특정 업체에 맞춰졌으며 직원들의 임금은 석 달째 체불되었습니다. "},
	{"mn", "mn", "2026 оны 3 сарын 4-нд \"Алтан тал\" ХХК-ийн захирал байцаагчид 5 сая төгрөг хахууль өгч, тендерийн шалгаруулалтыг тохируулж, ажилчдын цалинг гурван сар олгоогүй. "},
	{"uz", "ru", "4 марта 2026 года директор ООО «Строй» передал инспектору взятку 200 тысяч рублей в конверте, тендер был подогнан под фирму его родственника, а зарплату рабочим не платят три месяца. "},
	{"xk", "sq", "Më 4 mars 2026 drejtori i Ndërtimi SH.P.K. i dha inspektorit 2000 euro ryshfet në zarf, tenderi u përshtat për firmën e kushëririt dhe punëtorët nuk kanë marrë pagë tre muaj. "},
	{"xk", "sr", "Директор фирме Градња д.о.о. је 04.03.2026. дао инспектору мито од 2000 евра у коверти, тендер је скројен за фирму његовог рођака, а радници три месеца нису примили плату. "},
	{"uz", "uz", "2026-yil 4-mart kuni \"Qurilish Invest\" MChJ direktori inspektorga 5 million soʻm pora berdi, tender qarindoshining firmasiga moslashtirildi, ishchilarga uch oy ish haqi toʻlanmadi. "},
}

// BenchmarkSuggest measures one 5,000-character draft per language
// (run with -cpu 1: docs/benchmarks.md). Besides wall time per draft it
// reports the process's CPU time per draft, which a busy machine does not
// inflate.
func BenchmarkSuggest(b *testing.B) {
	for _, d := range benchDrafts {
		var sb strings.Builder
		for utf8.RuneCountInString(sb.String()) < 5000 {
			sb.WriteString(d.text)
		}
		text := string([]rune(sb.String())[:5000])
		g := newGuide(b, d.pack)
		b.Run(d.lang, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			cpu := cpuTime()
			for b.Loop() {
				if r := g.Suggest(text, ""); len(r.Categories) == 0 {
					b.Fatal("no category")
				}
			}
			if c := cpuTime() - cpu; c > 0 {
				b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
