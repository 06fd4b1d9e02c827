package jurisdiction

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"cleandrop/drop/stage"
)

//go:embed packs
var embedded embed.FS

// Categories are the fixed report category ids; every pack's law
// catalogue has each, and no other.
var Categories = []string{
	"abuse_of_office", "bribery", "conflict_of_interest", "consumer_fraud",
	"data_privacy_breach", "election_fraud", "embezzlement", "environmental_pollution",
	"food_drug_safety", "healthcare_fraud", "improper_solicitation", "labor_rights",
	"money_laundering", "nepotism_hiring", "police_misconduct", "procurement_fraud",
	"public_safety", "retaliation", "subsidy_fraud", "tax_evasion",
}

// Sectors are the sector ids a body may have (message keys "sector.<id>").
var Sectors = []string{
	"anti_corruption", "audit", "ombudsperson", "police", "prosecution", "judiciary",
	"health", "education", "environment", "finance", "tax", "customs", "procurement",
	"labor", "local_government", "defense", "energy", "transport", "agriculture",
	"justice", "interior", "other",
}

// RuleNames are the deadline rule names the pages have words for
// (message keys "case.next.<name>" and "desk.deadline.<name>").
var RuleNames = []string{"acknowledge", "feedback", "process"}

// Sections of the two information pages, in the order they are shown.
var (
	ProtectionSections = []string{"who", "how_to_ask", "forbidden", "confidentiality", "retaliation", "not_promised", "basis"}
	RewardsSections    = []string{"rewards", "compensation", "who_decides", "not_promised", "basis"}
)

// Text is one string in several languages, keyed by language code.
type Text map[string]string

// Pack is one jurisdiction.
type Pack struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Languages []string `json:"languages"` // the first is the default
	Checked   string   `json:"checked"`   // day the facts were last checked
	Note      Text     `json:"note,omitempty"`
	// Sources are the public texts the pack was written from, read on
	// the Checked day.
	Sources    []Source       `json:"sources"`
	Regions    []Region       `json:"regions,omitempty"`
	Stages     []string       `json:"stages"`
	Rules      []Rule         `json:"rules"`
	Bodies     []Body         `json:"-"`
	Laws       map[string]Law `json:"-"`
	Protection Page           `json:"-"`
	Rewards    Page           `json:"-"`
	// SameAsEnglish lists text a pack language may write exactly as
	// English does (a city's name, an act's number), each with the reason.
	// Any other text identical to English is an untranslated string.
	SameAsEnglish map[string]string `json:"same_as_english,omitempty"`
}

// Source is one public text a pack was written from.
type Source struct {
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
}

// Region is a region id of the pack and its names.
type Region struct {
	ID    string `json:"id"`
	Names Text   `json:"names"`
}

// Rule is a legal deadline ([stage.Rule]) with its legal basis.
type Rule struct {
	stage.Rule
	Basis Basis `json:"basis"`
	// Verify marks a rule whose length or basis could not be confirmed:
	// the operator checks it before relying on it.
	Verify bool `json:"verify,omitempty"`
	Note   Text `json:"note,omitempty"`
}

// Basis is where a rule or a law entry comes from.
type Basis struct {
	Act     string `json:"act"`
	Article string `json:"article,omitempty"`
}

// Body is a competent body as the contract between the issue 9 parts
// shapes it: a pack never carries its keys.
type Body struct {
	ID       string              `json:"id"`
	Name     string              `json:"name"`
	Names    Text                `json:"names,omitempty"`
	Translit string              `json:"translit,omitempty"`
	Sector   string              `json:"sector"`
	Region   string              `json:"region"`
	Keywords map[string][]string `json:"keywords,omitempty"`
	Central  bool                `json:"central,omitempty"`
}

// Law is the law catalogue's entry for one category.
type Law struct {
	Laws    []Basis `json:"laws"`
	Explain Text    `json:"explain"`
	Body    string  `json:"body"`
	Verify  bool    `json:"verify,omitempty"`
}

// Page is the protection or the rewards page.
type Page struct {
	Title    Text      `json:"title"`
	Sections []Section `json:"sections"`
}

// Section is one part of a page.
type Section struct {
	ID      string `json:"id"`
	Heading Text   `json:"heading"`
	Text    Text   `json:"text"`
	Verify  bool   `json:"verify,omitempty"`
}

// Policy is the pack's stages and deadlines as the drop runs them.
func (p *Pack) Policy() stage.Policy {
	pol := stage.Policy{Name: p.Code, Stages: slices.Clone(p.Stages)}
	for _, r := range p.Rules {
		pol.Rules = append(pol.Rules, r.Rule)
	}
	return pol
}

// Default is the pack's default language.
func (p *Pack) Default() string {
	if len(p.Languages) == 0 {
		return ""
	}
	return p.Languages[0]
}

// Body returns the body with id.
func (p *Pack) Body(id string) (Body, bool) {
	for _, b := range p.Bodies {
		if b.ID == id {
			return b, true
		}
	}
	return Body{}, false
}

// In returns t in lang, else in English, else in the pack's default.
func (p *Pack) In(t Text, lang string) (text, in string) {
	for _, l := range []string{lang, "en", p.Default()} {
		if s := t[l]; s != "" {
			return s, l
		}
	}
	return "", ""
}

// Codes lists the embedded packs, sorted.
func Codes() []string {
	ents, err := embedded.ReadDir("packs")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// ErrUnknown means no embedded pack has the code.
var ErrUnknown = errors.New("no such embedded pack")

// Load reads and checks the embedded pack code.
func Load(code string) (*Pack, error) {
	if !slices.Contains(Codes(), code) {
		return nil, fmt.Errorf("jurisdiction %q: %w", code, ErrUnknown)
	}
	sub, err := fs.Sub(embedded, path.Join("packs", code))
	if err != nil {
		return nil, err
	}
	return load(sub, code)
}

// LoadDir reads and checks a pack folder of the operator's own.
func LoadDir(dir string) (*Pack, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("pack %s is not a folder", dir)
	}
	return load(os.DirFS(dir), dir)
}

// Problems is every problem of one pack.
type Problems struct {
	Pack string
	List []string
}

func (p *Problems) Error() string {
	if len(p.List) == 1 {
		return fmt.Sprintf("pack %s: %s", p.Pack, p.List[0])
	}
	return fmt.Sprintf("pack %s: %d problems: %s", p.Pack, len(p.List), strings.Join(p.List, "; "))
}

// Files of a pack folder.
const (
	fileMeta   = "pack.json"
	fileBodies = "bodies.json"
	fileLaws   = "laws.json"
	filePages  = "pages.json"
)

type pages struct {
	Protection Page `json:"protection"`
	Rewards    Page `json:"rewards"`
}

func load(fsys fs.FS, name string) (*Pack, error) {
	var p Pack
	var pg pages
	for _, f := range []struct {
		name string
		into any
	}{{fileMeta, &p}, {fileBodies, &p.Bodies}, {fileLaws, &p.Laws}, {filePages, &pg}} {
		b, err := fs.ReadFile(fsys, f.name)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", name, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f.into); err != nil {
			return nil, fmt.Errorf("pack %s: %s: %w", name, f.name, err)
		}
	}
	p.Protection, p.Rewards = pg.Protection, pg.Rewards
	if probs := Check(&p); len(probs) > 0 {
		return nil, &Problems{Pack: name, List: probs}
	}
	return &p, nil
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	codePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// Languages the drop's catalogue has; a pack language must be one of them.
var Languages = []string{"en", "ko", "mn", "ru", "sq", "sr", "uz"}

// Check returns every problem of p, or none.
func Check(p *Pack) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if !codePattern.MatchString(p.Code) {
		bad("code %q is not 2-3 lower-case letters", p.Code)
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("no name")
	}
	if _, err := time.Parse(time.DateOnly, p.Checked); err != nil {
		bad("checked %q is not a day (YYYY-MM-DD)", p.Checked)
	}
	if len(p.Languages) == 0 {
		bad("no languages")
	}
	if len(p.Sources) == 0 {
		bad("no sources: list the texts the pack was written from")
	}
	for i, s := range p.Sources {
		if strings.TrimSpace(s.Title) == "" {
			bad("source %d has no title", i+1)
		}
	}
	seenLang := map[string]bool{}
	for _, l := range p.Languages {
		if !slices.Contains(Languages, l) {
			bad("language %q is not one the drop speaks (%s)", l, strings.Join(Languages, ", "))
		}
		if seenLang[l] {
			bad("language %q is listed twice", l)
		}
		seenLang[l] = true
	}
	// Pack text is in every pack language, and in English.
	need := slices.Clone(p.Languages)
	if !seenLang["en"] {
		need = append(need, "en")
	}
	for v, why := range p.SameAsEnglish {
		if strings.TrimSpace(why) == "" {
			bad("same_as_english %q gives no reason", v)
		}
	}
	// untranslated reports text left in English in another language.
	untranslated := func(l, v, en, where string) {
		if l != "en" && v != "" && v == en {
			if _, ok := p.SameAsEnglish[v]; !ok {
				bad("%s: the %s text is the English one (translate it, or list it under same_as_english with a reason)", where, l)
			}
		}
	}
	text := func(t Text, where string) {
		for _, l := range need {
			if strings.TrimSpace(t[l]) == "" {
				bad("%s has no %s text", where, l)
			}
			untranslated(l, t[l], t["en"], where)
		}
		for l := range t {
			if !slices.Contains(need, l) {
				bad("%s has text in %q, not a language of the pack", where, l)
			}
		}
	}
	if p.Note != nil {
		text(p.Note, "note")
	}
	regions := map[string]bool{"national": true}
	for _, r := range p.Regions {
		if !idPattern.MatchString(r.ID) || regions[r.ID] {
			bad("region %q is not a valid id or is listed twice", r.ID)
		}
		regions[r.ID] = true
		text(r.Names, fmt.Sprintf("region %q", r.ID))
	}

	pol := p.Policy()
	if err := pol.Check(); err != nil {
		bad("stages and deadlines: %v", err)
	}
	if !slices.Contains(p.Stages, stage.Closed) {
		bad("stages lack %q", stage.Closed)
	}
	for _, r := range p.Rules {
		if !slices.Contains(RuleNames, r.Name) {
			bad("deadline %q: the pages have no words for it (use %s)", r.Name, strings.Join(RuleNames, ", "))
		}
		if strings.TrimSpace(r.Basis.Act) == "" {
			bad("deadline %q names no legal basis (basis.act)", r.Name)
		}
		if r.Note != nil {
			text(r.Note, fmt.Sprintf("deadline %q note", r.Name))
		}
	}
	for _, s := range p.Stages {
		if !idPattern.MatchString(strings.ReplaceAll(s, "_", "-")) {
			bad("stage %q is not a valid id", s)
		}
	}

	bodies := map[string]bool{}
	central := 0
	for i, b := range p.Bodies {
		where := fmt.Sprintf("body %d (%q)", i+1, b.ID)
		if !idPattern.MatchString(b.ID) {
			bad("%s: id is not 1-32 lower-case letters, digits and hyphens", where)
		}
		if bodies[b.ID] {
			bad("%s: duplicate id", where)
		}
		bodies[b.ID] = true
		if strings.TrimSpace(b.Name) == "" {
			bad("%s: no name", where)
		}
		for l, n := range b.Names {
			if !slices.Contains(need, l) || strings.TrimSpace(n) == "" {
				bad("%s: name in %q is empty or not in a pack language", where, l)
			}
		}
		for _, l := range p.Languages {
			if l != "en" && b.Names[l] == "" {
				bad("%s: no name in %s", where, l)
			}
			untranslated(l, b.Names[l], b.Name, where+" name")
		}
		if !slices.Contains(Sectors, b.Sector) {
			bad("%s: unknown sector %q", where, b.Sector)
		}
		if !regions[b.Region] {
			bad("%s: unknown region %q (use \"national\" or a region of the pack)", where, b.Region)
		}
		for l := range b.Keywords {
			if !slices.Contains(need, l) {
				bad("%s: keywords in %q, not a language of the pack", where, l)
			}
		}
		if b.Central {
			central++
			if i != 0 {
				bad("%s: the central body must come first", where)
			}
		}
	}
	if len(p.Bodies) == 0 {
		bad("no bodies")
	} else if central != 1 {
		bad("%d central bodies; mark exactly one, the first, \"central\": true", central)
	}

	for _, c := range Categories {
		l, ok := p.Laws[c]
		if !ok {
			bad("law catalogue lacks category %q", c)
			continue
		}
		where := fmt.Sprintf("category %q", c)
		if len(l.Laws) == 0 {
			bad("%s names no law", where)
		}
		for _, b := range l.Laws {
			if strings.TrimSpace(b.Act) == "" {
				bad("%s: a law without an act", where)
			}
		}
		text(l.Explain, where+" explanation")
		if !bodies[l.Body] {
			bad("%s: unknown body %q", where, l.Body)
		}
	}
	for c := range p.Laws {
		if !slices.Contains(Categories, c) {
			bad("unknown category %q", c)
		}
	}
	page := func(pg Page, name string, want []string) {
		text(pg.Title, name+" title")
		seen := map[string]bool{}
		for _, s := range pg.Sections {
			if !slices.Contains(want, s.ID) {
				bad("%s page: unknown section %q (use %s)", name, s.ID, strings.Join(want, ", "))
			}
			if seen[s.ID] {
				bad("%s page: section %q twice", name, s.ID)
			}
			seen[s.ID] = true
			text(s.Heading, fmt.Sprintf("%s page section %q heading", name, s.ID))
			text(s.Text, fmt.Sprintf("%s page section %q", name, s.ID))
		}
		for _, id := range want {
			if !seen[id] {
				bad("%s page lacks section %q", name, id)
			}
		}
	}
	page(p.Protection, "protection", ProtectionSections)
	page(p.Rewards, "rewards", RewardsSections)
	slices.Sort(out)
	return slices.Compact(out)
}
