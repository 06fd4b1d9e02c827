package exposure

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// want is one expected finding: its kind and its passage.
type want struct{ kind, passage string }

func check(t *testing.T, text string, wants []want) {
	t.Helper()
	got := Check(text)
	if len(got) != len(wants) {
		t.Fatalf("Check(%q) found %d, want %d: %+v", text, len(got), len(wants), got)
	}
	for i, w := range wants {
		if got[i].Kind != w.kind || got[i].Passage != w.passage {
			t.Errorf("finding %d: got %s %q, want %s %q", i, got[i].Kind, got[i].Passage, w.kind, w.passage)
		}
	}
	valid(t, text, got)
}

// valid checks the promises every result keeps.
func valid(t *testing.T, text string, got []Finding) {
	t.Helper()
	end := 0
	for _, f := range got {
		if f.Start < end || f.End <= f.Start || f.End > len(text) {
			t.Fatalf("bad offsets %d-%d (previous end %d, len %d)", f.Start, f.End, end, len(text))
		}
		if text[f.Start:f.End] != f.Passage {
			t.Fatalf("passage %q is not text[%d:%d]", f.Passage, f.Start, f.End)
		}
		if rank[f.Kind] == 0 && f.Kind != Email {
			t.Fatalf("unknown kind %q", f.Kind)
		}
		end = f.End
	}
}

func TestEmail(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"plain", "write to alice.smith@example.org today", []want{{Email, "alice.smith@example.org"}}},
		{"plus and subdomain", "(bob+drop@mail.gov.mn)", []want{{Email, "bob+drop@mail.gov.mn"}}},
		{"korean around it", "제 메일은 kim99@naver.com 입니다", []want{{Email, "kim99@naver.com"}}},
		{"no domain", "the @ sign and user@localhost are not addresses", nil},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

func TestPhone(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"mongolia international", "залга +976 9911 2233 гэж", []want{{Phone, "+976 9911 2233"}}},
		{"mongolia national", "Утасны дугаар 9911-2233.", []want{{Phone, "9911-2233"}}},
		{"mongolia national spaced", "over 8811 4455 tonight", []want{{Phone, "8811 4455"}}},
		{"korea international", "+82 10-1234-5678", []want{{Phone, "+82 10-1234-5678"}}},
		{"korea mobile", "010-1234-5678로 연락 주세요", []want{{Phone, "010-1234-5678"}}},
		{"korea mobile in one go", "번호는 01012345678 입니다", []want{{Phone, "01012345678"}}},
		{"korea seoul landline", "02-123-4567", []want{{Phone, "02-123-4567"}}},
		{"korea regional landline", "031-234-5678", []want{{Phone, "031-234-5678"}}},
		{"kosovo international", "+383 44 123 456", []want{{Phone, "+383 44 123 456"}}},
		{"kosovo mobile", "më thirrni në 044 123 456", []want{{Phone, "044 123 456"}}},
		{"kosovo mobile in one go", "049123456", []want{{Phone, "049123456"}}},
		{"kosovo landline", "038 512 345", []want{{Phone, "038 512 345"}}},
		{"uzbekistan international", "+998 90 123 45 67", []want{{Phone, "+998 90 123 45 67"}}},
		{"uzbekistan national", "raqamim 90 123 45 67", []want{{Phone, "90 123 45 67"}}},
		{"uzbekistan parenthesised", "(93) 123-45-67", []want{{Phone, "(93) 123-45-67"}}},
		{"russia international", "+7 (916) 123-45-67", []want{{Phone, "+7 (916) 123-45-67"}}},
		{"russia national", "8 (916) 123-45-67", []want{{Phone, "8 (916) 123-45-67"}}},
		{"uk", "+44 20 7946 0958", []want{{Phone, "+44 20 7946 0958"}}},
		{"said to be a phone", "my phone is 555 0199 12", []want{{Phone, "555 0199 12"}}},
		{"after a date", "on 12.05.2024 010-1234-5678", []want{{Phone, "010-1234-5678"}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

// TestNearMisses: numbers that are no one's, in every language. None may
// warn.
func TestNearMisses(t *testing.T) {
	for _, c := range []struct{ name, text string }{
		{"iso date", "It happened on 2024-05-12 at noon."},
		{"dotted date", "12.05.2024-нд гэрээ байгуулсан."},
		{"slashed date", "signed 05/12/2024 and 5/12/24"},
		{"korean date", "2023년 3월 15일, 2023.03.15"},
		{"year range", "from 2019 to 2023, in 2021 2022"},
		{"amount with commas", "paid 1,500,000,000 won and ₮ 25,000,000"},
		{"amount with dots", "3.500.000 EUR"},
		{"amount with spaces", "12 500 000 сум"},
		{"article", "Art. 123 of the Law, article 12, Art. 12(3), 제12조"},
		{"invoice number", "Invoice INV-2024-000123 and No. 2024/0457"},
		{"contract code", "contract A1234567890123 and ref B-9911-2233"},
		{"luhn-invalid card", "card 4111 1111 1111 1112"},
		{"luhn-invalid card in one go", "4111111111111112"},
		{"all zeros", "0000000000000000"},
		{"short numbers", "room 101, 3 people, 45 minutes, 2 million"},
		{"ten digits without words", "order 1234567890 shipped"},
		{"nine digits without words", "batch 123456789"},
		{"bad rrn date", "991332-1234567"},
		{"bad rrn check digit", "8503151234567"},
		{"bad brn check digit", "220-81-12340"},
		{"bad iban", "XK05 1212 0123 4567 8907"},
		{"bad register date", "УБ99133212"},
		{"time", "at 10:30 and 22.30"},
		{"decimal", "3.14159 and 2.71828"},
		{"afraid is not a role", "I am a bit worried about this. I am afraid of them."},
		{"only way is not a person", "유일한 방법은 신고입니다. цорын ганц арга."},
		{"we work", "They work at the ministry. Вы работаете?"},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, nil) })
	}
}

func TestNationalID(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"korea rrn with hyphen", "주민등록번호 850315-1234567", []want{{NationalID, "850315-1234567"}}},
		{"korea rrn since 2020, no check digit", "021015-4987651", []want{{NationalID, "021015-4987651"}}},
		{"korea rrn in one go with check digit", "8503151234566", []want{{NationalID, "8503151234566"}}},
		{"mongolia register", "Регистр: УБ99031512.", []want{{NationalID, "УБ99031512"}}},
		{"mongolia register born after 2000", "миний РД ЧД05231109", []want{{NationalID, "ЧД05231109"}}},
		{"mongolia register lower case, spaced", "уб 99031512", []want{{NationalID, "уб 99031512"}}},
		{"kosovo personal number", "numri personal 1234567890", []want{{NationalID, "1234567890"}}},
		{"kosovo personal number, serbian", "lični broj: 1234567890", []want{{NationalID, "1234567890"}}},
		{"uzbek pinfl", "JShShIR 31505901234567", []want{{NationalID, "31505901234567"}}},
		{"uzbek pinfl by its date", "30101850123456", []want{{NationalID, "30101850123456"}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

func TestTaxID(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"korea business number", "사업자등록번호 220-81-12341", []want{{TaxID, "220-81-12341"}}},
		{"korea business number in one go", "사업자번호 2208112341", []want{{TaxID, "2208112341"}}},
		{"uzbek stir", "STIR: 301234567", []want{{TaxID, "301234567"}}},
		{"uzbek inn", "ИНН 301234567", []want{{TaxID, "301234567"}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

func TestCardAndIBAN(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"visa grouped", "card 4111 1111 1111 1111.", []want{{Card, "4111 1111 1111 1111"}}},
		{"mastercard with hyphens", "5555-5555-5555-4444", []want{{Card, "5555-5555-5555-4444"}}},
		{"amex", "3782 822463 10005", []want{{Card, "3782 822463 10005"}}},
		{"uzcard in one go", "karta 8600123412341239", []want{{Card, "8600123412341239"}}},
		{"card then a year", "4111 1111 1111 1111 2027", []want{{Card, "4111 1111 1111 1111"}}},
		{"kosovo iban grouped", "IBAN: XK05 1212 0123 4567 8906", []want{{IBAN, "XK05 1212 0123 4567 8906"}}},
		{"german iban in one go", "DE89370400440532013000", []want{{IBAN, "DE89370400440532013000"}}},
		{"albanian iban", "AL47 2121 1009 0000 0002 3569 8741 dhe", []want{{IBAN, "AL47 2121 1009 0000 0002 3569 8741"}}},
		{"iban then a capital word", "GB29 NWBK 6016 1331 9268 19 PLEASE", []want{{IBAN, "GB29 NWBK 6016 1331 9268 19"}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

func TestSelf(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []want
	}{
		{"en name", "Hello. My name is Alice Smith, and I saw it.", []want{{Self, "My name is Alice Smith"}}},
		{"en accountant of", "I am the accountant of the Roads Department.", []want{{Self, "I am the accountant of the Roads Department"}}},
		{"en work as at", "I work as a driver at the depot; they know me.", []want{{Self, "I work as a driver at the depot"}}},
		{"en only nurse", "As the only nurse on the night shift, I saw the logs.", []want{{Self, "As the only nurse on the night shift"}}},
		{"en stops before a phone", "My name is Bob, call 010-1234-5678", []want{{Self, "My name is Bob"}, {Phone, "010-1234-5678"}}},
		{"ko name", "제 이름은 김민수입니다.", []want{{Self, "제 이름은 김민수입니다"}}},
		{"ko work", "저는 서울시청 회계과에서 근무하는 주무관입니다.", []want{{Self, "저는 서울시청 회계과에서 근무하는 주무관입니다"}}},
		{"ko only", "병동의 유일한 야간 간호사로서 봤습니다.", []want{{Self, "유일한 야간 간호사로서 봤습니다"}}},
		{"mn name", "Миний нэр Болд.", []want{{Self, "Миний нэр Болд"}}},
		{"mn work", "Би аймгийн эмнэлэгт сувилагчаар ажилладаг.", []want{{Self, "Би аймгийн эмнэлэгт сувилагчаар ажилладаг"}}},
		{"mn only", "Би тэнд цорын ганц нягтлан байсан.", []want{{Self, "Би тэнд цорын ганц нягтлан байсан"}}},
		{"sq name", "Emri im është Arben Krasniqi.", []want{{Self, "Emri im është Arben Krasniqi"}}},
		{"sq work", "Punoj si infermiere në spitalin e Prizrenit.", []want{{Self, "Punoj si infermiere në spitalin e Prizrenit"}}},
		{"sq only", "Jam e vetmja kontabiliste në komunë.", []want{{Self, "Jam e vetmja kontabiliste në komunë"}}},
		{"sr latin name", "Zovem se Marko i radim u opštini.", []want{{Self, "Zovem se Marko i radim u opštini"}}},
		{"sr latin role", "Ja sam računovođa u javnom preduzeću.", []want{{Self, "Ja sam računovođa u javnom preduzeću"}}},
		{"sr cyrillic name", "Моје име је Марко.", []want{{Self, "Моје име је Марко"}}},
		{"sr cyrillic work", "Радим као возач у општини.", []want{{Self, "Радим као возач у општини"}}},
		{"uz name", "Mening ismim Dilshod.", []want{{Self, "Mening ismim Dilshod"}}},
		{"uz work", "Men tuman hokimiyatida hisobchi bo‘lib ishlayman.", []want{{Self, "Men tuman hokimiyatida hisobchi bo‘lib ishlayman"}}},
		{"uz only", "Bo‘limdagi yagona hamshira menman.", []want{{Self, "yagona hamshira menman"}}},
		{"ru name", "Меня зовут Ирина Петрова.", []want{{Self, "Меня зовут Ирина Петрова"}}},
		{"ru my name", "Моё имя Ирина.", []want{{Self, "Моё имя Ирина"}}},
		{"sq name, short", "Quhem Arben.", []want{{Self, "Quhem Arben"}}},
		{"en i'm", "I’m the only driver at the depot", []want{{Self, "I’m the only driver at the depot"}}},
		{"ru work", "Я работаю в районной налоговой инспекции.", []want{{Self, "Я работаю в районной налоговой инспекции"}}},
		{"ru role", "Я главный бухгалтер завода.", []want{{Self, "Я главный бухгалтер завода"}}},
		{"ru only", "Как единственная медсестра смены, я видела всё.", []want{{Self, "Как единственная медсестра смены"}}},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.text, c.want) })
	}
}

// TestEveryPatternHasStarts: each pattern can be reached from a word.
func TestEveryPatternHasStarts(t *testing.T) {
	reached := map[int]bool{}
	for _, st := range selfStarts {
		for _, k := range append(st.plains, st.roled...) {
			reached[k] = true
		}
	}
	for i, p := range selfPatterns {
		if !reached[i] {
			t.Errorf("pattern %q starts with no word", p.trigger)
		}
	}
}

func TestSortedWithoutOverlap(t *testing.T) {
	text := "Меня зовут Ирина. Тел. +7 916 123 45 67, email ira@example.ru, ИНН 301234567, " +
		"card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, 880101-1234567."
	got := Check(text)
	valid(t, text, got)
	kinds := []string{}
	for _, f := range got {
		kinds = append(kinds, f.Kind)
	}
	if w := "self phone email tax_id card iban national_id"; strings.Join(kinds, " ") != w {
		t.Fatalf("kinds %v, want %s", kinds, w)
	}
}

func TestLongText(t *testing.T) {
	text := strings.Repeat("1 2 3 4 5 6 7 8 9 0 ", 2000) + strings.Repeat("я ", 5000) + strings.Repeat("a@b.cd my name is x, 9911-2233. ", 2000)
	valid(t, text, Check(text))
	big := strings.Repeat("a", MaxText+10) + " alice@example.org"
	if got := Check(big); len(got) != 0 {
		t.Fatalf("beyond MaxText: %+v", got)
	}
}

// BenchmarkCheck: a draft of about 5,000 characters, and drafts of
// MaxText bytes made to be slow (every word a trigger, every number a
// run of one-digit groups).
func BenchmarkCheck(b *testing.B) {
	draft := strings.Repeat("The director of the regional office took an envelope with 5,000,000 MNT on 2026-03-01 "+
		"for the tender 2026-17. Я работаю в отделе. Call 9911-2233 or write to a@example.org. ", 30)
	for _, c := range []struct{ name, text string }{
		{"draft 5000", draft[:5000]},
		{"digits 1MiB", strings.Repeat("1 2 3 4 5 6 7 8 9 0 ", MaxText/20)},
		{"triggers 1MiB", strings.Repeat("i i 저는 ", MaxText/12)},
		{"addresses 1MiB", strings.Repeat("a@b.cd ", MaxText/7)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			for range b.N {
				Check(c.text)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"My name is Alice, 010-1234-5678, alice@example.org",
		"+976 9911 2233 УБ99031512 Миний нэр",
		"XK05 1212 0123 4567 8906 4111 1111 1111 1111",
		"880101-1234567 220-81-12341 ИНН 301234567",
		"저는 회계과에서 근무합니다 (90) 123-45-67",
		"\xff\xfe1 2-3.4/5(6)7",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Check(text)
		end := 0
		for _, g := range got {
			if g.Start < end || g.End <= g.Start || g.End > len(text) {
				t.Fatalf("bad offsets %d-%d (previous end %d, len %d)", g.Start, g.End, end, len(text))
			}
			if text[g.Start:g.End] != g.Passage {
				t.Fatalf("passage %q is not text[%d:%d]", g.Passage, g.Start, g.End)
			}
			if utf8.ValidString(text) && !utf8.ValidString(g.Passage) {
				t.Fatalf("passage %q cuts a character", g.Passage)
			}
			end = g.End
		}
	})
}
