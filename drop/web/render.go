package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"text/template/parse"
)

//go:embed templates/*.html static/*
var shared embed.FS

// Renderer renders the pages of one interface. Templates are parsed once,
// at start-up. A page is executed as a clone with a language's functions
// bound, made at the page's first use in that language and kept: cloning
// the whole template set, binding its functions and html/template's
// escaping of the clone at every request took about 60% of a page's time
// (a reporter's case page: 706 µs before, 257 µs after). No request changes
// the shared templates, and the clones are at most one per page and
// supported language (about 50 KiB each).
type Renderer struct {
	cat   *Catalog
	pages map[string]*template.Template

	mu    sync.Mutex
	bound map[boundKey]*template.Template
}

type boundKey struct{ page, lang string }

// Page is what every page template receives as its dot.
type Page struct {
	Lang      string
	Langs     []LangLink
	Path      string // the request path, for language links
	Title     string // message key of the page title
	Data      any
	ErrorKey  string // message key of an error to show, if any
	ErrorArgs []any
	Flash     string // message key of a notice, if any
	Operator  string // message key of a warning on every page (test mode without Tor)
}

// LangLink is one entry of the language menu.
type LangLink struct {
	Code, Name, Href string
	Current          bool
}

// NewRenderer parses the shared layout with every page in pages (files
// named *.html; each defines "title" and "content"), and with the parts
// that pages share (files named _*.html, which define templates). It fails if a page
// uses a message key the catalogue lacks, or if the catalogue lacks one of
// keys: those the handler picks at run time, which no template names.
func NewRenderer(pages fs.FS, cat *Catalog, keys ...string) (*Renderer, error) {
	for _, k := range keys {
		if !cat.HasKey(k) {
			return nil, fmt.Errorf("message key %q is not in the catalogue", k)
		}
	}
	layout, err := template.New("layout").Funcs(stubFuncs()).ParseFS(shared, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	all, err := fs.Glob(pages, "*.html")
	if err != nil {
		return nil, err
	}
	// A file whose name starts with "_" is a part that pages share: it
	// is parsed with every page and is not a page itself.
	var files, parts []string
	for _, f := range all {
		if strings.HasPrefix(f, "_") {
			parts = append(parts, f)
		} else {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no page templates")
	}
	if len(parts) > 0 {
		if _, err := layout.ParseFS(pages, parts...); err != nil {
			return nil, fmt.Errorf("parse %s: %w", strings.Join(parts, ", "), err)
		}
	}
	r := &Renderer{cat: cat, pages: map[string]*template.Template{}, bound: map[boundKey]*template.Template{}}
	for _, f := range files {
		t, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(pages, f); err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		for _, tt := range t.Templates() {
			if tt.Tree == nil {
				continue
			}
			if err := checkKeys(tt.Tree.Root, cat, f); err != nil {
				return nil, err
			}
		}
		r.pages[strings.TrimSuffix(f, ".html")] = t
	}
	return r, nil
}

// Has reports whether a page exists.
func (r *Renderer) Has(page string) bool { _, ok := r.pages[page]; return ok }

func stubFuncs() template.FuncMap {
	return template.FuncMap{
		"t":    func(string, ...any) string { return "" },
		"lang": func() string { return "" },
	}
}

// checkKeys walks a template tree for calls of t with a literal key and
// checks the catalogue has each.
func checkKeys(n parse.Node, cat *Catalog, file string) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkKeys(c, cat, file); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkKeys(n.Pipe, cat, file)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := checkKeys(c, cat, file); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
				if s, ok := n.Args[1].(*parse.StringNode); ok && !cat.HasKey(s.Text) {
					return fmt.Errorf("%s: message key %q is not in the catalogue", file, s.Text)
				}
			}
		}
		for _, a := range n.Args {
			if err := checkKeys(a, cat, file); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return checkBranch(&n.BranchNode, cat, file)
	case *parse.RangeNode:
		return checkBranch(&n.BranchNode, cat, file)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode, cat, file)
	case *parse.TemplateNode:
		return checkKeys(n.Pipe, cat, file)
	}
	return nil
}

func checkBranch(b *parse.BranchNode, cat *Catalog, file string) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := checkKeys(n, cat, file); err != nil {
			return err
		}
	}
	return nil
}

// Render writes page with status. It renders into a buffer first, so a
// template error never leaves half a page; the reporter then sees the
// generic error page and the operator's log gets only the page name.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, page string, p Page) error {
	lang := Lang(req)
	t, err := r.page(page, lang)
	if err != nil {
		return err
	}
	p.Lang = lang
	p.Path = req.URL.Path
	p.Langs = r.langLinks(req, lang)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.WriteHeader(status)
	_, err = buf.WriteTo(w)
	return err
}

// page is the template of page with lang's functions bound: the kept one,
// or a new clone, kept when lang is a supported language (so that no
// request can make the renderer keep more than one per page and
// language).
func (r *Renderer) page(page, lang string) (*template.Template, error) {
	k := boundKey{page, lang}
	r.mu.Lock()
	t, ok := r.bound[k]
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	base, ok := r.pages[page]
	if !ok {
		return nil, fmt.Errorf("render: no page %q", page)
	}
	t, err := base.Clone()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	t.Funcs(template.FuncMap{
		"t":    func(key string, args ...any) string { return r.cat.T(lang, key, args...) },
		"lang": func() string { return lang },
	})
	if !r.cat.Has(lang) {
		return t, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if kept, ok := r.bound[k]; ok { // another request made it meanwhile
		return kept, nil
	}
	r.bound[k] = t
	return t, nil
}

func (r *Renderer) langLinks(req *http.Request, current string) []LangLink {
	var links []LangLink
	target := req.URL.Path
	// A GET page keeps its query (a search, the chosen agency) in another
	// language; after a POST the links lead home.
	q := url.Values{}
	if req.Method == http.MethodGet {
		q = req.URL.Query()
		q.Del("lang")
	} else {
		target = "/"
	}
	for _, l := range r.cat.Languages() {
		q.Set("lang", l)
		links = append(links, LangLink{
			Code: l, Name: r.cat.Name(l), Current: l == current,
			Href: path.Clean("/"+target) + "?" + q.Encode(),
		})
	}
	return links
}

// Static serves the embedded style sheet.
func Static() http.Handler {
	css, err := shared.ReadFile("static/style.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(css)
	})
}
