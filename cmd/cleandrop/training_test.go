package main

import (
	"regexp"
	"testing"
)

// The Uzbek training texts write oʻ and gʻ with U+02BB and the tutuq
// belgisi with U+02BC, as the catalogue does (a font shows U+2018 and an
// ASCII apostrophe differently, and search does not match them).
func TestTrainingUzbekLetters(t *testing.T) {
	mark := regexp.MustCompile("[oOgG]['‘’`]|[A-Za-z\u02bb][’'][a-z]")
	tt := trainingText["uz"]
	for i, s := range append(tt.Reports[:], tt.Note) {
		if m := mark.FindString(s); m != "" {
			t.Errorf("uz training text %d: %q: write oʻ and gʻ with U+02BB, the tutuq belgisi with U+02BC", i, m)
		}
	}
}
