package web_test

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cleandrop/drop/exposure"
	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/source"
	"cleandrop/drop/stage"
	"cleandrop/drop/strip"
	"cleandrop/drop/web"
)

// readLocales reads every locale file as written, without the catalogue's
// own checks, so that the tests below can name each problem.
func readLocales(t *testing.T) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob("locales/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no locales: %v", err)
	}
	out := map[string]map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = m
	}
	if out[web.DefaultLanguage] == nil {
		t.Fatal("no en.json")
	}
	return out
}

// TestLocalesHaveEnglishKeys: every locale has exactly the keys of en.json.
func TestLocalesHaveEnglishKeys(t *testing.T) {
	locs := readLocales(t)
	en := locs[web.DefaultLanguage]
	for _, want := range []string{"en", "ko", "mn", "ru", "sq", "sr", "uz"} {
		if locs[want] == nil {
			t.Errorf("locale %s is missing", want)
		}
	}
	for lang, m := range locs {
		var missing, extra []string
		for k := range en {
			if strings.TrimSpace(m[k]) == "" {
				missing = append(missing, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				extra = append(extra, k)
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		if len(missing) > 0 {
			t.Errorf("%s lacks %v", lang, missing)
		}
		if len(extra) > 0 {
			t.Errorf("%s has keys en.json lacks: %v", lang, extra)
		}
	}
}

// dynamicPrefixes are the keys the code builds from a prefix and an id
// rather than writing them out; each maps to the ids the code can build
// it with. A key under one of these prefixes is used when its rest is one
// of the ids (or an id followed by one of the suffixes).
func dynamicPrefixes(t *testing.T, literals map[string]bool) map[string]func(rest string) bool {
	stages := slices.Clone(stage.Default)
	for _, code := range jurisdiction.Codes() {
		p, err := jurisdiction.Load(code)
		if err != nil {
			t.Fatal(err)
		}
		stages = append(stages, p.Stages...)
	}
	return map[string]func(string) bool{
		// drop/source/followup.go and drop/desk/cases.go: "stage."+id,
		// and the follow-up page's stageKey(id)+".help".
		"stage.": func(rest string) bool {
			return slices.Contains(stages, strings.TrimSuffix(rest, ".help"))
		},
		// drop/source/agencies.go: "sector."+id for every source.Sectors().
		"sector.": func(rest string) bool { return slices.Contains(source.Sectors(), rest) },
		// drop/source/agencies.go: "region."+id; only the national region
		// has a catalogue name (pack regions carry their own names).
		"region.": func(rest string) bool { return rest == source.National },
		// drop/desk/auditpage.go: "desk.action."+the audit entry's action,
		// which the code records as a string literal ("login.refused").
		"desk.action.": func(rest string) bool { return literals[rest] },
		// drop/source/draft.go: "category."+id of the guide's answer and
		// "exposure.kind."+kind of each identifying detail found.
		"category.":      func(rest string) bool { return slices.Contains(jurisdiction.Categories, rest) },
		"exposure.kind.": func(rest string) bool { return slices.Contains(exposure.Kinds, rest) },
		// drop/source/cleaning.go: what drop/strip removed, or why it did not.
		"strip.removed.": func(rest string) bool { return slices.Contains(strip.Removals, rest) },
		"strip.reason.":  func(rest string) bool { return slices.Contains(strip.Reasons, rest) },
	}
}

var templateKey = regexp.MustCompile(`[{(]-?\s*t\s+"([^"]+)"`)

var goString = regexp.MustCompile("\"(?:[^\"\\\\\\n]|\\\\.)*\"|`[^`]*`")

// TestLocaleKeysUsed: every key of en.json is used by a Go source or a
// template under drop/, cmd/ or vault/ (the offline thread's labels).
func TestLocaleKeysUsed(t *testing.T) {
	en := readLocales(t)[web.DefaultLanguage]
	literals := map[string]bool{}
	for _, root := range []string{"..", "../../cmd", "../../vault"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || d.Name() == "node_modules" {
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			if strings.HasSuffix(name, "_test.go") || !(strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".html") || strings.HasSuffix(name, ".txt") || strings.HasSuffix(name, ".tmpl")) {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !strings.HasSuffix(name, ".go") {
				// templates: {{t "key" …}} and (t "key")
				for _, m := range templateKey.FindAllStringSubmatch(string(b), -1) {
					literals[m[1]] = true
				}
				return nil
			}
			for _, s := range goString.FindAllString(string(b), -1) {
				if u, err := strconv.Unquote(s); err == nil {
					literals[u] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dyn := dynamicPrefixes(t, literals)
	var unused []string
	for k := range en {
		if literals[k] {
			continue
		}
		used := false
		for prefix, ok := range dyn {
			if rest, found := strings.CutPrefix(k, prefix); found && ok(rest) {
				used = true
			}
		}
		if !used {
			unused = append(unused, k)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("%d keys of en.json are used nowhere under drop/, cmd/ or vault/: %v", len(unused), unused)
	}
}

// sameAsEnglish is the allow-list of values a locale may leave in English,
// and of the Latin words a locale in another script may contain.
type sameAsEnglish struct{ keys, values, words map[string]bool } // "lang\x00key" / "lang\x00value" / "lang\x00word", lang may be "*"

func readSameAsEnglish(t *testing.T) sameAsEnglish {
	t.Helper()
	f, err := os.Open("testdata/same_as_english.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := sameAsEnglish{keys: map[string]bool{}, values: map[string]bool{}, words: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || strings.TrimSpace(f[3]) == "" {
			t.Fatalf("same_as_english.tsv line %d: want kind, language, text and a reason, tab-separated", n)
		}
		switch f[0] {
		case "key":
			a.keys[f[1]+"\x00"+f[2]] = true
		case "value":
			a.values[f[1]+"\x00"+f[2]] = true
		case "word":
			a.words[f[1]+"\x00"+f[2]] = true
		default:
			t.Fatalf("same_as_english.tsv line %d: kind %q is not key, value or word", n, f[0])
		}
	}
	return a
}

func (a sameAsEnglish) allows(lang, key, value string) bool {
	for _, l := range []string{lang, "*"} {
		if a.keys[l+"\x00"+key] || a.values[l+"\x00"+value] {
			return true
		}
	}
	return false
}

// TestLocalesTranslated: a value identical to English in another locale
// is a string nobody translated, unless the allow-list names it.
func TestLocalesTranslated(t *testing.T) {
	locs := readLocales(t)
	allow := readSameAsEnglish(t)
	en := locs[web.DefaultLanguage]
	for lang, m := range locs {
		if lang == web.DefaultLanguage {
			continue
		}
		var same []string
		for k, v := range m {
			if v == en[k] && !allow.allows(lang, k, v) {
				same = append(same, k)
			}
		}
		slices.Sort(same)
		if len(same) > 0 {
			t.Errorf("%s leaves %d values in English: %v", lang, len(same), same)
		}
	}
}

var verb = regexp.MustCompile(`%(?:\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z%])`)

// verbs lists a format string's verbs as "argument:verb", in argument
// order, so that a translation may reorder arguments with %[n]s.
func verbs(s string) []string {
	var out []string
	next := 1
	for _, m := range verb.FindAllStringSubmatch(s, -1) {
		if m[2] == "%" {
			continue
		}
		arg := next
		if m[1] != "" {
			arg, _ = strconv.Atoi(m[1])
		}
		next = arg + 1
		out = append(out, strconv.Itoa(arg)+":"+m[2])
	}
	slices.Sort(out)
	return out
}

// TestLocaleFormatVerbs: each translation takes the same arguments, of
// the same kinds, as English.
func TestLocaleFormatVerbs(t *testing.T) {
	locs := readLocales(t)
	en := locs[web.DefaultLanguage]
	for lang, m := range locs {
		for k, v := range m {
			if want, got := verbs(en[k]), verbs(v); !slices.Equal(want, got) {
				t.Errorf("%s %s: verbs %v, English has %v", lang, k, got, want)
			}
		}
	}
}

func TestVerbs(t *testing.T) {
	tests := map[string]struct {
		a, b string
		same bool
	}{
		"same":      {"%s of %d", "%s из %d", true},
		"reordered": {"%s of %d", "%[2]d의 %[1]s", true},
		"swapped":   {"%s of %d", "%d of %s", false},
		"missing":   {"%s of %d", "%s", false},
		"percent":   {"100%% %s", "%s 100%%", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := slices.Equal(verbs(tc.a), verbs(tc.b)); got != tc.same {
				t.Fatalf("verbs(%q)=%v verbs(%q)=%v", tc.a, verbs(tc.a), tc.b, verbs(tc.b))
			}
		})
	}
}

// scripts are the writing systems of the locales: a value of a Cyrillic or
// Hangul locale has no Latin word outside the allow-list, and a Latin
// locale has no Cyrillic word (a string left in the other script of a
// language written in two, such as Serbian or Uzbek, or pasted from
// another locale).
var scripts = map[string]string{"ko": "Hangul", "mn": "Cyrillic", "ru": "Cyrillic", "sr": "Cyrillic", "sq": "Latin", "uz": "Latin"}

var (
	latinWord    = regexp.MustCompile(`[A-Za-z\x{00C0}-\x{024F}][A-Za-z\x{00C0}-\x{024F}]*`)
	cyrillicWord = regexp.MustCompile(`\p{Cyrillic}+`)
)

func TestLocaleScripts(t *testing.T) {
	locs := readLocales(t)
	allow := readSameAsEnglish(t)
	for lang, m := range locs {
		if lang == web.DefaultLanguage {
			continue
		}
		script, ok := scripts[lang]
		if !ok {
			t.Errorf("locale %s: its script is not in the test's list", lang)
			continue
		}
		for k, v := range m {
			if k == "language.name" {
				continue
			}
			v = verb.ReplaceAllString(v, " ")
			var wrong []string
			if script == "Latin" {
				wrong = cyrillicWord.FindAllString(v, -1)
			} else {
				for _, w := range latinWord.FindAllString(v, -1) {
					if !allow.words[lang+"\x00"+w] && !allow.words["*\x00"+w] {
						wrong = append(wrong, w)
					}
				}
			}
			if len(wrong) > 0 {
				t.Errorf("%s %s: words not in %s script: %v", lang, k, script, wrong)
			}
		}
	}
}

// uzbekMark finds a quote or ASCII apostrophe used for the Uzbek letters
// oʻ, gʻ (U+02BB) or the tutuq belgisi (U+02BC): text mixing them looks
// alike but spells words differently for search, sorting and screen
// readers.
var uzbekMark = regexp.MustCompile("[oOgG]['‘’`]|[A-Za-z\u02bb][’'][a-z]")

func TestUzbekLetters(t *testing.T) {
	for k, v := range readLocales(t)["uz"] {
		if m := uzbekMark.FindString(v); m != "" {
			t.Errorf("uz %s: %q: write oʻ and gʻ with U+02BB, the tutuq belgisi with U+02BC", k, m)
		}
	}
}
