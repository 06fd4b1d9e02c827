package strip

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// xmlRules says how one XML part of an OOXML file is rewritten. The
// rewriting works on the bytes of each tag: prefixes, namespace
// declarations, text and everything not named here stay exactly as they
// were (encoding/xml's encoder would rename prefixes, which Office
// refuses).
type xmlRules struct {
	// dropContent: every child of the root element goes (core and app
	// properties), each named by a removal key (or "" to say nothing).
	dropContent map[string]string
	// blankAttrs: attributes (by local name) whose values are emptied.
	blankAttrs map[string]string
	// dropAttrPrefix: attributes whose local name starts with it go.
	dropAttrPrefix, dropAttrKey string
	// dropElems: elements (by local name) that go with all they hold.
	dropElems map[string]string
	// blankText: elements (by local name) whose text is emptied.
	blankText map[string]string
	// drop decides on elements by their attributes (relationships and
	// content types of parts left out).
	drop func(local string, attr func(string) string) bool
}

const maxTag = 1 << 20

type xmlAttr struct{ name, value []byte }

// rewriteXML copies one XML document from r to w by the rules.
func rewriteXML(w io.Writer, r io.Reader, ru *xmlRules, res *Result) error {
	br := bufio.NewReaderSize(r, 32<<10)
	bw := bufio.NewWriterSize(w, 32<<10)
	depth := 0
	skipUntil := -1 // inside a dropped element: the depth where it ends
	blank := false  // inside an element whose text is emptied
	quiet := func() bool { return skipUntil >= 0 }
	for {
		text, err := br.ReadSlice('<')
		for err == bufio.ErrBufferFull {
			if !quiet() && !blank {
				bw.Write(text)
			}
			text, err = br.ReadSlice('<')
		}
		if err == io.EOF {
			if !quiet() && !blank {
				bw.Write(text)
			}
			if depth != 0 || quiet() {
				return errDamaged
			}
			return bw.Flush()
		}
		if err != nil {
			return errDamaged
		}
		if !quiet() && !blank {
			bw.Write(text[:len(text)-1])
		}
		tag, err := readTag(br)
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(tag, []byte("<!DOCTYPE")), bytes.HasPrefix(tag, []byte("<!ENTITY")):
			return errDamaged // no DTD in OOXML; refused rather than expanded
		case tag[1] == '?', tag[1] == '!':
			if !quiet() {
				bw.Write(tag)
			}
			continue
		case tag[1] == '/':
			depth--
			if depth < 0 {
				return errDamaged
			}
			blank = false
			if skipUntil == depth {
				skipUntil = -1
				continue
			}
			if !quiet() {
				bw.Write(tag)
			}
			continue
		}
		name, attrs, empty, err := parseTag(tag)
		if err != nil {
			return err
		}
		local := localName(name)
		if quiet() {
			if !empty {
				depth++
			}
			continue
		}
		drop, key := false, ""
		if ru.dropContent != nil && depth == 1 {
			drop, key = true, ru.dropContent[local]
		} else if k, ok := ru.dropElems[local]; ok {
			drop, key = true, k
		} else if ru.drop != nil && ru.drop(local, func(n string) string { return attrValue(attrs, n) }) {
			drop = true
		}
		if drop {
			if key != "" {
				res.remove(key)
			}
			if !empty {
				skipUntil = depth
				depth++
			}
			continue
		}
		changed := false
		out := attrs[:0:0]
		for _, a := range attrs {
			al := localName(a.name)
			if ru.dropAttrPrefix != "" && strings.HasPrefix(al, ru.dropAttrPrefix) && !bytes.HasPrefix(a.name, []byte("xmlns")) {
				res.remove(ru.dropAttrKey)
				changed = true
				continue
			}
			if k, ok := ru.blankAttrs[al]; ok && len(a.value) > 0 && !bytes.HasPrefix(a.name, []byte("xmlns")) {
				res.remove(k)
				a.value = nil
				changed = true
			}
			out = append(out, a)
		}
		if changed {
			bw.WriteByte('<')
			bw.Write(name)
			for _, a := range out {
				bw.WriteByte(' ')
				bw.Write(a.name)
				bw.WriteString(`="`)
				bw.Write(a.value)
				bw.WriteByte('"')
			}
			if empty {
				bw.WriteString("/>")
			} else {
				bw.WriteByte('>')
			}
		} else {
			bw.Write(tag)
		}
		if !empty {
			depth++
			if k, ok := ru.blankText[local]; ok {
				blank = true
				res.remove(k)
			}
		}
	}
}

// readTag reads a tag whose '<' was just read, up to its '>' (comments,
// CDATA and processing instructions to their own ends).
func readTag(br *bufio.Reader) ([]byte, error) {
	tag := []byte{'<'}
	end := ">"
	if p, _ := br.Peek(8); bytes.HasPrefix(p, []byte("!--")) {
		end = "-->"
	} else if bytes.HasPrefix(p, []byte("![CDATA[")) {
		end = "]]>"
	} else if bytes.HasPrefix(p, []byte("?")) {
		end = "?>"
	}
	var quote byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			return nil, errDamaged
		}
		tag = append(tag, b)
		if len(tag) > maxTag {
			return nil, errDamaged
		}
		if end == ">" {
			switch {
			case quote != 0 && b == quote:
				quote = 0
			case quote == 0 && (b == '"' || b == '\''):
				quote = b
			case quote == 0 && b == '>':
				return tag, nil
			case quote == 0 && b == '<':
				return nil, errDamaged
			}
			continue
		}
		if len(tag) >= len(end)+2 && bytes.HasSuffix(tag, []byte(end)) {
			return tag, nil
		}
	}
}

// parseTag splits a start or empty-element tag. Attribute values keep
// their escapes; values quoted with ' are rewritten only if they hold no
// '"'.
func parseTag(tag []byte) (name []byte, attrs []xmlAttr, empty bool, err error) {
	body := tag[1 : len(tag)-1]
	if bytes.HasSuffix(body, []byte("/")) {
		empty = true
		body = body[:len(body)-1]
	}
	i := bytes.IndexAny(body, " \t\r\n")
	if i < 0 {
		i = len(body)
	}
	name = body[:i]
	if len(name) == 0 {
		return nil, nil, false, errDamaged
	}
	rest := body[i:]
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			return name, attrs, empty, nil
		}
		eq := bytes.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, nil, false, errDamaged
		}
		an := bytes.TrimRight(rest[:eq], " \t\r\n")
		rest = bytes.TrimLeft(rest[eq+1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return nil, nil, false, errDamaged
		}
		q := rest[0]
		end := bytes.IndexByte(rest[1:], q)
		if end < 0 {
			return nil, nil, false, errDamaged
		}
		v := rest[1 : 1+end]
		if q == '\'' && bytes.IndexByte(v, '"') >= 0 {
			v = bytes.ReplaceAll(v, []byte(`"`), []byte("&quot;"))
		}
		attrs = append(attrs, xmlAttr{name: an, value: v})
		rest = rest[end+2:]
	}
}

func localName(n []byte) string {
	if i := bytes.LastIndexByte(n, ':'); i >= 0 {
		n = n[i+1:]
	}
	return string(n)
}

func attrValue(attrs []xmlAttr, local string) string {
	for _, a := range attrs {
		if localName(a.name) == local {
			return string(a.value)
		}
	}
	return ""
}
