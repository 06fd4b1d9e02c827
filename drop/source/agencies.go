package source

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"cleandrop/drop/web"
)

// Sectors returns the sector ids an agency may have; each has the message
// key "sector.<id>" in every locale.
func Sectors() []string { return slices.Clone(sectorIDs) }

var sectorIDs = []string{
	"anti_corruption", "audit", "ombudsperson", "police", "prosecution", "judiciary",
	"health", "education", "environment", "finance", "tax", "customs", "procurement",
	"labor", "local_government", "defense", "energy", "transport", "agriculture",
	"justice", "interior", "other",
}

// KnownSector reports whether id is one of [Sectors].
func KnownSector(id string) bool { return slices.Contains(sectorIDs, id) }

// National is the region of a body competent for the whole country.
const National = "national"

// Directory limits.
const (
	// DropdownMax is the most agencies the report form offers in a
	// drop-down; with more, the reporter chooses in the directory
	// (/agencies) before the form is shown.
	DropdownMax = 12
	// MaxQuery bounds a directory search, in bytes, before anything is
	// done with it; maxTokens bounds the words of one search.
	MaxQuery  = 200
	maxTokens = 8
	pageSize  = 25
	// maxOtherNames bounds the names shown under a result besides the
	// one in the reporter's language, so that a page of results stays
	// small whatever the number of languages configured.
	maxOtherNames = 3
)

// directory is the search index over the agencies, built once at start.
type directory struct {
	entries []*dirEntry
	byID    map[string]*dirEntry
	central *dirEntry // nil without a central body
	sectors []string  // the sectors that have agencies, in [Sectors] order
	regions []string  // the regions that have agencies, National first
	// sectorWords and regionWords: the folded words of each sector's and
	// region's names in every language, and of its id.
	sectorWords, regionWords map[string][]string
	cat                      *web.Catalog
	// groups are the front page's sector and region links with their
	// counts, by language.
	groups map[string]groupLinks
}

type groupLinks struct{ sectors, regions []groupLink }

// dirEntry is one agency with its search forms precomputed.
type dirEntry struct {
	Agency
	texts []string // folded whole names: every language, the transliteration, the Latin form
	words []string // folded words of texts
	keys  []string // folded words of keywords (and their Latin forms)
	skel  []string // skeletons of texts and keywords, spaces removed
	// By catalogue language: the folded name results sort by, and the
	// agency as a page shows it.
	sortKeys map[string]string
	views    map[string]agencyView
}

func newDirectory(agencies []Agency, cat *web.Catalog) *directory {
	d := &directory{byID: map[string]*dirEntry{}, sectorWords: map[string][]string{}, regionWords: map[string][]string{}, cat: cat}
	sectors, regions := map[string]bool{}, map[string]bool{}
	for _, a := range agencies {
		if a.Sector == "" {
			a.Sector = "other"
		}
		if a.Region == "" {
			a.Region = National
		}
		e := &dirEntry{Agency: a}
		names := []string{a.Name, a.Translit}
		for _, l := range sortedKeys(a.Names) {
			names = append(names, a.Names[l])
		}
		for _, n := range names {
			for _, form := range []string{fold(n), fold(latin(n))} {
				if form != "" && !slices.Contains(e.texts, form) {
					e.texts = append(e.texts, form)
				}
			}
		}
		for _, t := range e.texts {
			e.words = appendNew(e.words, strings.Fields(t)...)
			e.skel = appendNew(e.skel, strings.ReplaceAll(skeleton(t), " ", ""))
		}
		for _, l := range sortedKeys(a.Keywords) {
			for _, k := range a.Keywords[l] {
				for _, form := range []string{fold(k), fold(latin(k))} {
					e.keys = appendNew(e.keys, strings.Fields(form)...)
					if form != "" {
						e.skel = appendNew(e.skel, strings.ReplaceAll(skeleton(form), " ", ""))
					}
				}
			}
		}
		d.entries = append(d.entries, e)
		d.byID[a.ID] = e
		if a.Central && d.central == nil {
			d.central = e
		}
		sectors[a.Sector], regions[a.Region] = true, true
	}
	for _, s := range sectorIDs {
		if sectors[s] {
			d.sectors = append(d.sectors, s)
		}
	}
	for r := range regions {
		d.regions = append(d.regions, r)
	}
	slices.SortFunc(d.regions, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == National:
			return -1
		case b == National:
			return 1
		}
		return strings.Compare(a, b)
	})
	words := func(key, id string) []string {
		w := strings.Fields(fold(strings.ReplaceAll(id, "_", " ")))
		if cat.HasKey(key) {
			for _, l := range cat.Languages() {
				w = appendNew(w, strings.Fields(fold(cat.T(l, key)))...)
				w = appendNew(w, strings.Fields(fold(latin(cat.T(l, key))))...)
			}
		}
		return w
	}
	for _, s := range d.sectors {
		d.sectorWords[s] = words("sector."+s, s)
	}
	for _, r := range d.regions {
		d.regionWords[r] = words("region."+r, r)
	}
	// What pages show in each language is computed here once, not at
	// every request.
	counts := map[string]int{}
	for _, e := range d.entries {
		counts["s:"+e.Sector]++
		counts["r:"+e.Region]++
	}
	d.groups = map[string]groupLinks{}
	for _, l := range cat.Languages() {
		var g groupLinks
		for _, s := range d.sectors {
			g.sectors = append(g.sectors, groupLink{ID: s, Href: "/agencies?sector=" + url.QueryEscape(s), Name: cat.T(l, "sector."+s), Count: counts["s:"+s]})
		}
		for _, rg := range d.regions {
			g.regions = append(g.regions, groupLink{ID: rg, Href: "/agencies?region=" + url.QueryEscape(rg), Name: d.regionName(rg, l), Count: counts["r:"+rg]})
		}
		d.groups[l] = g
	}
	for _, e := range d.entries {
		e.sortKeys, e.views = map[string]string{}, map[string]agencyView{}
		for _, l := range cat.Languages() {
			e.sortKeys[l] = fold(e.display(l))
			e.views[l] = d.makeView(e, l)
		}
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func appendNew(list []string, ws ...string) []string {
	for _, w := range ws {
		if w != "" && !slices.Contains(list, w) {
			list = append(list, w)
		}
	}
	return list
}

// cleanQuery bounds and cleans a search as typed: control characters and
// invalid bytes become spaces. ok is false when it is longer than
// [MaxQuery] bytes.
func cleanQuery(q string) (string, bool) {
	if len(q) > MaxQuery {
		return "", false
	}
	q = strings.ToValidUTF8(q, " ")
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, q)
	return strings.Join(strings.Fields(q), " "), true
}

// query is a search with what every agency is scored against, computed
// once per search.
type query struct {
	ts     []token
	fq, lq string // the whole search folded, and its Latin form folded
}

func newQuery(q string) query { return query{ts: tokens(q), fq: fold(q), lq: fold(latin(q))} }

// token is one word of a search in its forms.
type token struct {
	forms []string // folded, and its Latin form when that differs
	skel  string
	sub   bool // long enough to match inside a word
}

func tokens(q string) []token {
	var ts []token
	for _, w := range strings.Fields(fold(q)) {
		if len(ts) == maxTokens {
			break
		}
		t := token{forms: []string{w}}
		if l := fold(latin(w)); l != w {
			t.forms = append(t.forms, l)
		}
		t.skel = skeleton(t.forms[len(t.forms)-1])
		n := utf8.RuneCountInString(w)
		t.sub = n >= 3 || n >= 2 && isSyllable([]rune(w)[0])
		ts = append(ts, t)
	}
	return ts
}

// Match tiers of one search word against one agency.
const (
	tierNone = iota
	tierSkeleton
	tierInside // inside a name or keyword, or a sector or region word
	tierKeyword
	tierPrefix
	tierWord
)

// score ranks e for the search words ts: 0 when a word matches nothing.
// A whole name equal to the search comes first, then names that start
// with it, then the sum of each word's best tier.
func (d *directory) score(e *dirEntry, qy query) int {
	total := 0
	for _, t := range qy.ts {
		best := tierNone
		for _, f := range t.forms {
			best = max(best, d.tier(e, f, t))
		}
		if best == tierNone {
			return 0
		}
		total += best
	}
	fq, lq := qy.fq, qy.lq
	for _, text := range e.texts {
		switch {
		case text == fq || text == lq:
			total += 100
		case strings.HasPrefix(text, fq) || strings.HasPrefix(text, lq):
			total += 50
		default:
			continue
		}
		break
	}
	return total
}

func (d *directory) tier(e *dirEntry, f string, t token) int {
	best := tierNone
	for _, w := range e.words {
		switch {
		case w == f:
			return tierWord
		case strings.HasPrefix(w, f):
			best = max(best, tierPrefix)
		}
	}
	if best > tierNone {
		return best
	}
	for _, w := range e.keys {
		if strings.HasPrefix(w, f) {
			return tierKeyword
		}
	}
	if t.sub {
		for _, text := range e.texts {
			if strings.Contains(text, f) {
				return tierInside
			}
		}
		for _, w := range e.keys {
			if strings.Contains(w, f) {
				return tierInside
			}
		}
	}
	for _, w := range d.sectorWords[e.Sector] {
		if strings.HasPrefix(w, f) {
			return tierInside
		}
	}
	for _, w := range d.regionWords[e.Region] {
		if strings.HasPrefix(w, f) {
			return tierInside
		}
	}
	if t.sub && len(t.skel) >= 3 {
		for _, s := range e.skel {
			if strings.Contains(s, t.skel) {
				return tierSkeleton
			}
		}
	}
	return tierNone
}

// search returns the agencies matching q (all of them for an empty q),
// within sector and region when given, best first; without a search, the
// central body first and then by name in lang.
func (d *directory) search(q, sector, region, lang string) []*dirEntry {
	return d.find(newQuery(q), sector, region, lang)
}

// find is [directory.search] for a query already prepared.
func (d *directory) find(qy query, sector, region, lang string) []*dirEntry {
	type hit struct {
		e     *dirEntry
		score int
		name  string
	}
	var hits []hit
	for _, e := range d.entries {
		if sector != "" && e.Sector != sector || region != "" && e.Region != region {
			continue
		}
		s := 1
		if len(qy.ts) > 0 {
			if s = d.score(e, qy); s == 0 {
				continue
			}
		}
		hits = append(hits, hit{e, s, e.sortKey(lang)})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if a.e.Central != b.e.Central {
			if a.e.Central {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.e.ID, b.e.ID)
	})
	out := make([]*dirEntry, len(hits))
	for i, h := range hits {
		out[i] = h.e
	}
	return out
}

// sortKey is the folded name in lang that results sort by.
func (e *dirEntry) sortKey(lang string) string {
	if k, ok := e.sortKeys[lang]; ok {
		return k
	}
	return fold(e.display(lang))
}

// display is the agency's name in lang, or its English name.
func (a Agency) display(lang string) string {
	if n := a.Names[lang]; n != "" {
		return n
	}
	return a.Name
}

// agencyView is an agency as a page shows it.
type agencyView struct {
	ID, Name, NameLang string
	Other              []otherName // its other names and transliteration
	SectorKey          string
	Region             string
	Central            bool
}

type otherName struct{ Text, Lang string }

// view is e as a page in lang shows it.
func (d *directory) view(e *dirEntry, lang string) agencyView {
	if v, ok := e.views[lang]; ok {
		return v
	}
	return d.makeView(e, lang)
}

func (d *directory) makeView(e *dirEntry, lang string) agencyView {
	v := agencyView{ID: e.ID, Name: e.display(lang), NameLang: lang, SectorKey: "sector." + e.Sector, Region: d.regionName(e.Region, lang), Central: e.Central}
	if e.Names[lang] == "" {
		v.NameLang = "en"
	}
	add := func(text, l string) {
		if text == "" || text == v.Name || len(v.Other) == maxOtherNames {
			return
		}
		for _, o := range v.Other {
			if o.Text == text {
				return
			}
		}
		v.Other = append(v.Other, otherName{text, l})
	}
	add(e.Name, "en")
	for _, l := range sortedKeys(e.Names) {
		if hasConvertible(e.Names[l]) || e.Translit != "" {
			add(e.Names[l], l) // the local name first, then its Latin form
			break
		}
	}
	tr := e.Translit
	if tr == "" {
		for _, l := range sortedKeys(e.Names) {
			if hasConvertible(e.Names[l]) {
				tr = latin(e.Names[l])
				break
			}
		}
	}
	add(tr, "")
	for _, l := range sortedKeys(e.Names) {
		add(e.Names[l], l)
	}
	return v
}

func (d *directory) regionName(id, lang string) string {
	if d.cat.HasKey("region." + id) {
		return d.cat.T(lang, "region."+id)
	}
	return id
}

// Pages.

type groupLink struct {
	ID, Href, Name string
	Count          int
}

type directoryData struct {
	Query              string
	Sector, Region     string // the group browsed, if any
	SectorKey          string
	RegionName         string
	Searched           bool
	Total              int
	Results            []agencyView
	Central            *agencyView
	Sectors, Regions   []groupLink
	Page, Pages        int
	PrevHref, NextHref string
	MaxQuery           int
}

// searchForm is what the directory's search form shows (_search.html).
type searchForm struct {
	Query, Sector, Region string
	MaxQuery              int
}

// SearchForm is the search form of the directory page: the search, the
// group browsed.
func (d directoryData) SearchForm() searchForm {
	return searchForm{Query: d.Query, Sector: d.Sector, Region: d.Region, MaxQuery: d.MaxQuery}
}

// agenciesPage serves GET /agencies: the directory's front (the central
// body, a search form, the sectors and regions), a search (?q=), a sector
// or region (?sector=, ?region=), a page of either (&page=N). It carries
// nothing the reporter wrote in a report: the report form comes after.
func (h *handler) agenciesPage(w http.ResponseWriter, r *http.Request) {
	d, lang := h.dir, web.Lang(r)
	qv := r.URL.Query()
	data := directoryData{MaxQuery: MaxQuery, Page: 1}
	if d.central != nil {
		v := d.view(d.central, lang)
		data.Central = &v
	}
	status, errKey := http.StatusOK, ""
	q, ok := cleanQuery(qv.Get("q"))
	if !ok {
		status, errKey = http.StatusBadRequest, "agencies.error.long"
	}
	data.Query = q
	if s := qv.Get("sector"); s != "" {
		if !slices.Contains(d.sectors, s) {
			status, errKey = http.StatusNotFound, "agencies.error.sector"
		} else {
			data.Sector, data.SectorKey = s, "sector."+s
		}
	}
	if rg := qv.Get("region"); rg != "" {
		if !slices.Contains(d.regions, rg) {
			status, errKey = http.StatusNotFound, "agencies.error.region"
		} else {
			data.Region, data.RegionName = rg, d.regionName(rg, lang)
		}
	}
	qy := newQuery(q)
	data.Searched = errKey == "" && (q != "" && len(qy.ts) > 0 || data.Sector != "" || data.Region != "")
	if data.Searched {
		found := d.find(qy, data.Sector, data.Region, lang)
		data.Total = len(found)
		data.Pages = max(1, (len(found)+pageSize-1)/pageSize)
		if p, err := strconv.Atoi(qv.Get("page")); err == nil && p > 1 {
			data.Page = min(p, data.Pages)
		}
		from := (data.Page - 1) * pageSize
		for _, e := range found[from:min(from+pageSize, len(found))] {
			data.Results = append(data.Results, d.view(e, lang))
		}
		link := func(p int) string {
			v := url.Values{}
			if q != "" {
				v.Set("q", q)
			}
			if data.Sector != "" {
				v.Set("sector", data.Sector)
			}
			if data.Region != "" {
				v.Set("region", data.Region)
			}
			if p > 1 {
				v.Set("page", strconv.Itoa(p))
			}
			return "/agencies?" + v.Encode()
		}
		if data.Page > 1 {
			data.PrevHref = link(data.Page - 1)
		}
		if data.Page < data.Pages {
			data.NextHref = link(data.Page + 1)
		}
	}
	if !data.Searched {
		g := d.groups[lang]
		data.Sectors, data.Regions = g.sectors, g.regions
	}
	h.page(w, r, status, "agencies", web.Page{ErrorKey: errKey, Data: data})
}

// many reports whether the reporter chooses the agency in the directory
// rather than in the report form's drop-down.
func (h *handler) many() bool { return len(h.cfg.Agencies) > DropdownMax }

// reportHref is where the landing page's "Make a report" leads.
func (h *handler) reportHref() string {
	if h.many() {
		return "/agencies"
	}
	return "/report"
}
