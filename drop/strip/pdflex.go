package strip

import (
	"bytes"
	"strconv"
)

// A minimal PDF lexer over a byte slice: enough to find dictionaries,
// their entries' spans, and references. It never evaluates anything.

func isWS(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '\f' || b == 0
}

func isDelim(b byte) bool {
	return bytes.IndexByte([]byte("()<>[]{}/%"), b) >= 0
}

// skipWS skips white space and comments from i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch {
		case isWS(b[i]):
			i++
		case b[i] == '%':
			for i < len(b) && b[i] != '\r' && b[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// skipValue returns the end of the value starting at i (after white
// space), or -1 when b ends first or the value is malformed.
func skipValue(b []byte, i int, depth int) int {
	if depth > 64 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '/':
		i++
		for i < len(b) && !isWS(b[i]) && !isDelim(b[i]) {
			i++
		}
		return i
	case c == '(':
		n := 0
		for i < len(b) {
			switch b[i] {
			case '\\':
				i++
			case '(':
				n++
			case ')':
				n--
				if n == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case c == '<' && i+1 < len(b) && b[i+1] == '<':
		_, end := parseDict(b, i, depth+1)
		return end
	case c == '<':
		e := bytes.IndexByte(b[i:], '>')
		if e < 0 {
			return -1
		}
		return i + e + 1
	case c == '[':
		i++
		for {
			i = skipWS(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == ']' {
				return i + 1
			}
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
		}
	case c == ')' || c == '>' || c == ']' || c == '{' || c == '}':
		return -1
	default: // number, keyword, R
		s := i
		for i < len(b) && !isWS(b[i]) && !isDelim(b[i]) {
			i++
		}
		if i == s {
			return -1
		}
		return i
	}
}

// entry is one key of a dictionary: where the key starts, and its value.
type entry struct {
	start, vstart, end int
}

// parseDict parses the dictionary at i ("<<"), returning its entries and
// the index after its ">>" (-1 if malformed or cut). A value that is a
// reference ("5 0 R") spans all three tokens.
func parseDict(b []byte, i int, depth int) (map[string]entry, int) {
	i = skipWS(b, i)
	if depth > 64 || !bytes.HasPrefix(b[i:], []byte("<<")) {
		return nil, -1
	}
	i += 2
	d := map[string]entry{}
	for {
		i = skipWS(b, i)
		if i+1 >= len(b) {
			return nil, -1
		}
		if b[i] == '>' && b[i+1] == '>' {
			return d, i + 2
		}
		if b[i] != '/' {
			return nil, -1
		}
		ks := i
		ke := skipValue(b, i, depth)
		if ke < 0 {
			return nil, -1
		}
		vs := skipWS(b, ke)
		ve := skipValue(b, vs, depth)
		if ve < 0 {
			return nil, -1
		}
		// a reference: "N G R"
		if j := skipWS(b, ve); isInt(b[vs:ve]) && j < len(b) && b[j] >= '0' && b[j] <= '9' {
			if g := skipValue(b, j, depth); g > 0 && isInt(b[j:g]) {
				if k := skipWS(b, g); k < len(b) && b[k] == 'R' && (k+1 == len(b) || isWS(b[k+1]) || isDelim(b[k+1])) {
					ve = k + 1
				}
			}
		}
		d[string(b[ks+1:ke])] = entry{start: ks, vstart: vs, end: ve}
		i = ve
	}
}

func isInt(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// value returns the text of key's value in d, "" when absent.
func value(b []byte, d map[string]entry, key string) string {
	e, ok := d[key]
	if !ok {
		return ""
	}
	return string(b[e.vstart:e.end])
}

// ref parses "N G R", returning N (or -1).
func ref(s string) int {
	f := bytes.Fields([]byte(s))
	if len(f) != 3 || string(f[2]) != "R" {
		return -1
	}
	n, err := strconv.Atoi(string(f[0]))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// ints parses an array of integers ("[1 2 3]").
func ints(s string) []int64 {
	s = string(bytes.Trim([]byte(s), "[] \r\n\t"))
	var out []int64
	for _, f := range bytes.Fields([]byte(s)) {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}
