package guide

import (
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"cleandrop/drop/jurisdiction"
)

func newGuide(t testing.TB, code string) *Guide {
	t.Helper()
	p, err := jurisdiction.Load(code)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func ids(r Result) []string {
	var out []string
	for _, m := range r.Categories {
		out = append(out, m.ID)
	}
	return out
}

// Drafts in each language and script point to the category their words
// describe, and the matched words are the draft's own, as written.
func TestSuggest(t *testing.T) {
	for _, c := range []struct {
		name, pack, lang, text, want string
	}{
		{"en", "eu", "en", "The inspector asked for a kickback and took the envelope so he would look the other way.", "bribery"},
		{"ko", "kr", "ko", "시청 공무원이 현금 봉투를 받고 뇌물을 챙겼습니다.", "bribery"},
		{"ko-compound", "kr", "ko", "회사 대표가 법인카드로 공금을 횡령했습니다.", "embezzlement"},
		{"mn", "mn", "mn", "Байцаагч хахуулийн мөнгө нэхэж, дугтуйтай мөнгө авсан.", "bribery"},
		{"ru", "uz", "ru", "Инспектор потребовал взятку и получил конверт с деньгами.", "bribery"},
		{"sq", "xk", "sq", "Inspektori kërkoi ryshfet dhe mori zarfin me para.", "bribery"},
		{"sr-Cyrl", "xk", "sr", "Инспектор је тражио мито и узео коверат са новцем.", "bribery"},
		{"sr-Latn", "xk", "sr", "Inspektor je tražio mito i uzeo koverat sa novcem.", "bribery"},
		{"uz", "uz", "uz", "Inspektor pora soʻradi va konvertda pul oldi.", "bribery"},
		{"mn-tax", "mn", "mn", "Компани татвараас зайлсхийж, НӨАТ-ын баримт өгдөггүй.", "tax_evasion"},
		{"ru-police", "uz", "ru", "Сотрудники милиции задержали соседа и избили его в отделении.", "police_misconduct"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newGuide(t, c.pack).Suggest(c.text, c.lang)
			if len(r.Categories) == 0 || r.Categories[0].ID != c.want {
				t.Fatalf("categories %v, want %s first", ids(r), c.want)
			}
			if len(r.Categories) > MaxSuggestions {
				t.Errorf("%d categories", len(r.Categories))
			}
			for _, m := range r.Categories {
				if len(m.Matched) == 0 {
					t.Errorf("%s: no matched words", m.ID)
				}
				for _, w := range m.Matched {
					if !strings.Contains(c.text, w) {
						t.Errorf("%s: matched %q is not in the draft as written", m.ID, w)
					}
				}
			}
			for i := 1; i < len(r.Categories); i++ {
				if r.Categories[i].Score > r.Categories[i-1].Score {
					t.Errorf("not best first: %+v", r.Categories)
				}
			}
			if want := newGuide(t, c.pack).pack.Laws[c.want].Body; r.Agency != want {
				t.Errorf("agency %q, want the pack's body %q", r.Agency, want)
			}
		})
	}
}

// A draft with no word of any lexicon gets no category and no body:
// nothing is invented.
func TestNoEvidence(t *testing.T) {
	g := newGuide(t, "eu")
	for _, text := range []string{"", "   ", "Hello, I would like to say something about the weather today.", "1234 5678", "!!!"} {
		r := g.Suggest(text, "")
		if len(r.Categories) != 0 || r.Agency != "" {
			t.Errorf("%q: categories %v, agency %q", text, ids(r), r.Agency)
		}
		if r.Categories == nil {
			t.Errorf("%q: categories is null in JSON, want []", text)
		}
		if len(r.Fields) != len(FieldIDs) || r.Template == "" {
			t.Errorf("%q: the template is not there", text)
		}
	}
}

// Equal scores keep the order of jurisdiction.Categories, whatever the
// order of the words in the draft.
func TestTieOrder(t *testing.T) {
	g := newGuide(t, "eu")
	for _, text := range []string{"kickback; embezzlement", "embezzlement; kickback"} {
		r := g.Suggest(text, "en")
		if len(r.Categories) != 2 || r.Categories[0].Score != r.Categories[1].Score {
			t.Fatalf("%q: want two equal scores, got %+v", text, r.Categories)
		}
		if got := ids(r); !slices.Equal(got, []string{"bribery", "embezzlement"}) {
			t.Errorf("%q: order %v, want the categories' order", text, got)
		}
	}
}

// At most three categories, however many the draft touches.
func TestAtMostThree(t *testing.T) {
	r := newGuide(t, "eu").Suggest("kickback embezzlement pollution ballot tender overtime wages police custody", "en")
	if len(r.Categories) != MaxSuggestions {
		t.Errorf("%d categories: %v", len(r.Categories), ids(r))
	}
}

// The same draft gives the same result, every time.
func TestDeterministic(t *testing.T) {
	g := newGuide(t, "xk")
	text := "Direktor je uzeo mito, pronevera budžetskih sredstava, a tender je namešten. Policija je pretukla radnika 04.03.2026."
	first := g.Suggest(text, "")
	for range 20 {
		if r := g.Suggest(text, ""); !reflect.DeepEqual(r, first) {
			t.Fatalf("results differ:\n%+v\n%+v", first, r)
		}
	}
}

// Serbian is one language in two scripts: the same draft in Cyrillic and
// in Latin gives the same categories, and the template is in the draft's
// script.
func TestSerbianScripts(t *testing.T) {
	g := newGuide(t, "xk")
	cyr := g.Suggest("Директор је примио мито и проневерио новац из буџета општине.", "")
	lat := g.Suggest("Direktor je primio mito i proneverio novac iz budžeta opštine.", "")
	if cyr.Lang != "sr" || lat.Lang != "sr" {
		t.Fatalf("detected %s and %s", cyr.Lang, lat.Lang)
	}
	if !slices.Equal(ids(cyr), ids(lat)) || len(ids(cyr)) == 0 {
		t.Errorf("Cyrillic %v, Latin %v", ids(cyr), ids(lat))
	}
	if cyr.Script != "Cyrl" || lat.Script != "Latn" {
		t.Errorf("scripts %q, %q", cyr.Script, lat.Script)
	}
	if cyr.Fields[0].Label != "Ко (особе, организације)" || lat.Fields[0].Label != "Ko (osobe, organizacije)" {
		t.Errorf("labels %q, %q", cyr.Fields[0].Label, lat.Fields[0].Label)
	}
}

// Uzbek oʻ and gʻ match however the mark is typed, or left out.
func TestUzbekApostrophes(t *testing.T) {
	g := newGuide(t, "uz")
	for _, w := range []string{"oʻzlashtirdi", "o'zlashtirdi", "o`zlashtirdi", "o‘zlashtirdi", "o’zlashtirdi", "ozlashtirdi"} {
		text := "Direktor byudjet mablagʻlarini " + w + "."
		r := g.Suggest(text, "uz")
		if len(r.Categories) == 0 || r.Categories[0].ID != "embezzlement" {
			t.Errorf("%s: %v", w, ids(r))
			continue
		}
		if !slices.Contains(r.Categories[0].Matched, w) {
			t.Errorf("%s: matched %v, want the word as written", w, r.Categories[0].Matched)
		}
	}
}

// Agglutinative languages match by stems: a Korean stem with a particle or
// inside a compound, a Mongolian stem with its case ending.
func TestStems(t *testing.T) {
	for _, c := range []struct{ pack, lang, text, want, word string }{
		{"kr", "ko", "그는 뇌물을 받았다", "bribery", "뇌물을"},
		{"kr", "ko", "업체가 폐수무단방류를 했다", "environmental_pollution", "폐수무단방류를"},
		{"mn", "mn", "хахуулийн хэрэг", "bribery", "хахуулийн"},
		{"mn", "mn", "сонгуулийн хороо", "election_fraud", "сонгуулийн"},
	} {
		r := newGuide(t, c.pack).Suggest(c.text, c.lang)
		if len(r.Categories) == 0 || r.Categories[0].ID != c.want || !slices.Contains(r.Categories[0].Matched, c.word) {
			t.Errorf("%s: %+v, want %s with %q", c.text, r.Categories, c.want, c.word)
		}
	}
}

func TestDetectLang(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"The director took the money and the inspector was paid.", "en"},
		{"시청 공무원이 돈을 받았습니다.", "ko"},
		{"Энэ бол хахууль юм, дарга мөнгө авсан байна.", "mn"},
		{"Сүүлийн үед өөр юм болсон.", "mn"},
		{"Директор взял деньги, и это не первый раз.", "ru"},
		{"Директор је узео новац и то није први пут.", "sr"},
		{"Председник општине користи службени аутомобил и возача на море, а гориво плаћа општина.", "sr"},
		{"Я написал жалобу, и начальник объявил мне выговор.", "ru"},
		{"Direktor je uzeo novac i to nije prvi put.", "sr"},
		{"Drejtori mori paratë dhe kjo nuk është hera e parë.", "sq"},
		{"Drejtori i komunës është i përfshirë.", "sq"},
		{"Direktor pulni oldi va bu birinchi marta emas.", "uz"},
		{"Direktor oʻz ukasini ishga oldi.", "uz"},
		{"Direktor o'z ukasini ishga oldi.", "uz"},
		{"", "en"},
	} {
		if got := DetectLang(c.text); got != c.want {
			t.Errorf("%q: %s, want %s", c.text, got, c.want)
		}
	}
}

// Suggest with an unknown language detects it instead.
func TestUnknownLangDetected(t *testing.T) {
	r := newGuide(t, "kr").Suggest("시청 공무원이 뇌물을 받았습니다.", "xx")
	if r.Lang != "ko" {
		t.Errorf("lang %q", r.Lang)
	}
}

// The template is prefilled with the dates, amounts and organisations the
// draft names, in every language's usual forms.
func TestTemplatePrefill(t *testing.T) {
	for _, c := range []struct {
		name, pack, text string
		field            string
		want             []string
	}{
		{"iso", "eu", "It happened on 2026-03-04 and again on 04.03.2026.", "when", []string{"2026-03-04", "04.03.2026"}},
		{"en", "eu", "On 4 March 2026, then March 5, 2026, and the 6th of March.", "when", []string{"4 March 2026", "March 5, 2026", "6th of March"}},
		{"ko", "kr", "2026년 3월 4일과 5월 2일에 있었습니다.", "when", []string{"2026년 3월 4일", "5월 2일"}},
		{"mn", "mn", "2026 оны 3 сарын 4-нд болсон.", "when", []string{"2026 оны 3 сарын 4-нд"}},
		{"ru", "uz", "Это было 4 марта 2026 года.", "when", []string{"4 марта 2026 года"}},
		{"sr", "xk", "Desilo se 4. marta 2026. i 5. априла.", "when", []string{"4. marta 2026", "5. априла"}},
		{"sq", "xk", "Ndodhi më 4 mars 2026.", "when", []string{"4 mars 2026"}},
		{"uz", "uz", "2026-yil 4-mart kuni boʻldi.", "when", []string{"2026-yil 4-mart"}},
		{"amount-ko", "kr", "현금 500만원과 3억 원, ₩2,000,000을 받았다.", "how_much", []string{"500만원", "3억 원", "₩2,000,000"}},
		{"amount-mn", "mn", "5 сая төгрөг, ₮300,000 өгсөн.", "how_much", []string{"5 сая төгрөг", "₮300,000"}},
		{"amount-en", "eu", "He took €2,500 and 300 euros and $5,000 and 200 USD.", "how_much", []string{"€2,500", "300 euros", "$5,000", "200 USD"}},
		{"amount-uz", "uz", "5 million soʻm va 300 000 so'm, 200 сўм.", "how_much", []string{"5 million soʻm", "300 000 so'm", "200 сўм"}},
		{"amount-ru", "uz", "200 тысяч рублей и 2 млн сум.", "how_much", []string{"200 тысяч рублей", "2 млн сум"}},
		{"amount-sq", "xk", "Mori 2000 euro dhe 5000 lekë.", "how_much", []string{"2000 euro", "5000 lekë"}},
		{"org-en", "eu", "Acme Building LLC and the Ministry of Health.", "who", []string{"Acme Building LLC", "Ministry of Health"}},
		{"org-ko", "kr", "(주)한빛건설과 국세청 직원", "who", []string{"(주)한빛건설", "국세청"}},
		{"org-mn", "mn", "\"Алтан тал\" ХХК-ийн захирал Татварын ерөнхий газарт", "who", []string{"Татварын ерөнхий газар", "\"Алтан тал\" ХХК"}},
		{"org-sq", "xk", "Firma Ndërtimi SH.P.K. dhe Policia e Kosovës", "who", []string{"Policia e Kosovës", "Firma Ndërtimi SH.P.K"}},
		{"org-sr", "xk", "Firma Gradnja d.o.o. i Косовска полиција", "who", []string{"Косовска полиција", "Firma Gradnja d.o.o"}},
		{"org-uz", "uz", "\"Qurilish Invest\" MChJ va Soliq qoʻmitasi", "who", []string{"Soliq qoʻmitasi", "\"Qurilish Invest\" MChJ"}},
		{"org-ru", "uz", "ООО «Строй» и Налоговый комитет", "who", []string{"Налоговый комитет", "ООО «Строй»"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newGuide(t, c.pack).Suggest(c.text, "")
			var got string
			for _, f := range r.Fields {
				if f.ID == c.field {
					got = f.Value
				}
			}
			for _, w := range c.want {
				if !slices.Contains(strings.Split(got, "; "), w) {
					t.Errorf("%s = %q, want %q in it", c.field, got, w)
				}
			}
			if !strings.Contains(r.Template, got) {
				t.Errorf("template lacks %q", got)
			}
		})
	}
}

// Every language has a lexicon for every category, and labels for every
// blank; the embedded model stays under 5 MiB.
func TestModel(t *testing.T) {
	m, err := loadModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		have := map[int]bool{}
		for _, ts := range m.lex[l].index {
			for _, tm := range ts {
				have[tm.cat] = true
			}
		}
		for i, c := range jurisdiction.Categories {
			if !have[i] {
				t.Errorf("%s lexicon: no entry for %s", l, c)
			}
		}
	}
	var size int64
	fs.WalkDir(data, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, _ := d.Info()
			size += info.Size()
		}
		return nil
	})
	measured(t, "embedded model: %d bytes", size)
	if size == 0 || size > 5<<20 {
		t.Errorf("embedded model is %d bytes, want under 5 MiB", size)
	}
}

// A lexicon file with a mistake is refused with its line.
func TestParseLexiconErrors(t *testing.T) {
	for _, src := range []string{"bribe", "[no_such]\nx", "[bribery]\nbribe=x", "[bribery]\nbribe=-1", "[bribery]\nb"} {
		if _, err := parseLexicon("en", src); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

// In a phrase, a word of one or two letters is that word, not the start of
// another: "за счёт" (at the expense of) is not "зарубежных счетов"
// (foreign accounts).
func TestShortPhraseWords(t *testing.T) {
	r := newGuide(t, "uz").Suggest("Он переводил деньги на несколько зарубежных счетов.", "ru")
	for _, m := range r.Categories {
		if m.ID == "abuse_of_office" {
			t.Errorf("abuse_of_office from %v", m.Matched)
		}
	}
	r = newGuide(t, "uz").Suggest("Ремонт сделали за счёт школы.", "ru")
	if len(r.Categories) == 0 || !slices.Contains(r.Categories[0].Matched, "за счёт") {
		t.Errorf("the phrase itself no longer matches: %+v", r.Categories)
	}
}
