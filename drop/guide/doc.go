// Package guide reads a reporter's draft and suggests what it is about:
// the report categories its words point to, best first, with the draft's
// own words that led there; the body usually competent ([Result].Agency,
// from the jurisdiction pack's law catalogue); and a report template with
// blanks (who, what, when, where, how, how much, evidence, witnesses, who
// else knows) in the draft's language, prefilled with the dates, amounts
// and organisation names it recognised.
//
// The guide is a weighted lexicon per language and category (data/, embedded),
// matched on word beginnings (Korean stems also inside a word), after
// folding the spellings of one letter together: Serbian Cyrillic and Latin,
// Uzbek oʻ/gʻ however the mark is typed, Albanian ë/ç. [Guide.Suggest] is
// deterministic and explainable: every score is the sum of the weights of
// lexicon entries found in the draft, and [Match].Matched lists the words.
// [DetectLang] picks the language when the reporter does not say.
//
// Everything happens in memory, in this process: the package never logs,
// stores or sends a draft or any part of it, has no network code, and keeps
// nothing of a draft after Suggest returns (the [Result] holds only the
// matched words and what was recognised, for the reporter's own page).
package guide

// The learned part's counts (data/bayes) are made from the development
// split of the labelled drafts, never from the held-out one.
//go:generate env CLEANDROP_GUIDE_WRITE_BAYES=1 go test -count=1 -run ^TestWriteBayes$ .
