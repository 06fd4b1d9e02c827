package receipt

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/sethvargo/go-diceware/diceware"
)

// Format is how a receipt is written.
type Format int

const (
	// Words is seven distinct words from the EFF large list, less its
	// hyphenated words (7,772 words: 90.46 bits).
	Words Format = iota
	// Digits is seven groups of four digits (93.0 bits), for reporters who
	// do not type English words.
	Digits
)

const (
	wordCount   = 7
	digitGroups = 7
	groupLen    = 4
)

// ParseFormat reads a format name as written in configuration.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "words":
		return Words, nil
	case "digits":
		return Digits, nil
	}
	return 0, fmt.Errorf("unknown receipt format %q (want words or digits)", s)
}

// Generate returns a fresh receipt in its display form: words joined by
// single spaces, or digit groups joined by single spaces.
func Generate(f Format) (string, error) {
	switch f {
	case Digits:
		groups := make([]string, digitGroups)
		limit := big.NewInt(10000)
		for i := range groups {
			n, err := rand.Int(rand.Reader, limit)
			if err != nil {
				return "", fmt.Errorf("generate receipt: %w", err)
			}
			groups[i] = fmt.Sprintf("%04d", n.Int64())
		}
		return strings.Join(groups, " "), nil
	default:
		list := wordList()
		limit := big.NewInt(int64(len(list)))
		words := make([]string, 0, wordCount)
		for len(words) < wordCount {
			n, err := rand.Int(rand.Reader, limit)
			if err != nil {
				return "", fmt.Errorf("generate receipt: %w", err)
			}
			if w := list[n.Int64()]; !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
		return strings.Join(words, " "), nil
	}
}

// Errors from [Normalize]. They describe only the shape of what was typed,
// never whether a case exists, so they are safe to show.
var (
	ErrEmpty       = errors.New("receipt is empty")
	ErrWordCount   = errors.New("receipt must have seven words")
	ErrUnknownWord = errors.New("receipt has a word that is not on the list")
	ErrDigitCount  = errors.New("receipt must have 28 digits")
	ErrMixed       = errors.New("receipt mixes words and digits")
)

// Normalize turns what a reporter typed into the canonical receipt, or says
// what is wrong with its shape. It ignores case, spacing, hyphens and other
// punctuation, and recognises either format.
func Normalize(s string) (string, error) {
	var letters, digits bool
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		switch {
		case unicode.IsLetter(r):
			letters = true
			return false
		case unicode.IsDigit(r):
			digits = true
			return false
		}
		return true
	})
	switch {
	case len(fields) == 0:
		return "", ErrEmpty
	case letters && digits:
		return "", ErrMixed
	case digits:
		all := strings.Join(fields, "")
		if len(all) != digitGroups*groupLen {
			return "", ErrDigitCount
		}
		for _, r := range all {
			if r < '0' || r > '9' {
				return "", ErrDigitCount
			}
		}
		groups := make([]string, digitGroups)
		for i := range groups {
			groups[i] = all[i*groupLen : (i+1)*groupLen]
		}
		return strings.Join(groups, " "), nil
	}
	if len(fields) != wordCount {
		return "", ErrWordCount
	}
	list := wordSet()
	for _, w := range fields {
		if _, ok := list[w]; !ok {
			return "", ErrUnknownWord
		}
	}
	return strings.Join(fields, " "), nil
}

// wordList is the EFF large list without its few hyphenated words
// ("t-shirt"), so that a hyphen typed between words can only be a
// separator. The library indexes words by their dice rolls, 11111 to 66666.
var wordList = sync.OnceValue(func() []string {
	list := diceware.WordListEffLarge()
	var words []string
	var walk func(prefix, depth int)
	walk = func(prefix, depth int) {
		if depth == list.Digits() {
			if w := list.WordAt(prefix); w != "" && !strings.Contains(w, "-") {
				words = append(words, w)
			}
			return
		}
		for d := 1; d <= 6; d++ {
			walk(prefix*10+d, depth+1)
		}
	}
	walk(0, 0)
	return words
})

// wordSet is [wordList] as a set.
var wordSet = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, len(wordList()))
	for _, w := range wordList() {
		set[w] = struct{}{}
	}
	return set
})
