package bundle

import (
	"fmt"
	"strings"
)

// ThreadWords put the labels of an opened bundle's thread.txt and
// thread.html in one language. The opener knows the keys it asks for, not
// the catalogue that answers them: the command that opens the bundle
// passes its catalogue's lookup. The zero value labels in English. Days
// stay in ISO 8601 (2006-01-02) in every language.
type ThreadWords struct {
	// Lang is the language code of the labels, for thread.html's
	// <html lang>; "" is "en".
	Lang string
	// Text returns the text of a catalogue key, formatted with args; nil
	// uses the English built in below. It is asked for the thread.* keys,
	// desk.kind.*, desk.identity.purpose.*, desk.custody.*,
	// desk.case.custody.title, desk.case.refer.reason.* and stage.*.
	Text func(key string, args ...any) string
	// HasKey reports whether Text knows key; nil means it knows the
	// English built in. A stage without a name is shown by its id.
	HasKey func(key string) bool
}

// threadEnglish is the English of the keys the thread asks for; the drop's
// en.json holds the same values, for the commands that pass a catalogue.
var threadEnglish = map[string]string{
	"thread.case":                            "Case %s",
	"thread.agency":                          "Agency",
	"thread.stage":                           "Stage",
	"thread.opened":                          "Opened",
	"thread.exported":                        "Exported",
	"thread.history":                         "Stage history",
	"thread.items":                           "Thread",
	"thread.batch":                           "batch %d",
	"thread.purpose":                         "Purpose",
	"thread.file":                            "File",
	"thread.original_name":                   "Original name",
	"thread.see":                             "see %s",
	"thread.sealed.custodian":                "sealed to the agency's custodian: this key cannot open it",
	"thread.sealed.officers":                 "sealed to the case officers: this key cannot open it",
	"desk.case.custody.title":                "Chain of custody",
	"desk.custody.in":                        "Received by referral from %s, case %s",
	"desk.custody.out":                       "Referred to %s, case %s",
	"desk.custody.detail":                    "Filed by %s; %d items",
	"desk.custody.again":                     "Referred again:",
	"desk.custody.bundle":                    "Referral bundle SHA-256:",
	"desk.custody.source":                    "Made from the export manifest with SHA-256:",
	"desk.kind.report":                       "Report",
	"desk.kind.attachment":                   "Attachment",
	"desk.kind.answer":                       "Answer",
	"desk.kind.question":                     "Question",
	"desk.kind.note":                         "Note",
	"desk.kind.identity":                     "Identity (sealed to the custodian)",
	"desk.identity.purpose.protection":       "protection",
	"desk.identity.purpose.reward":           "reward",
	"desk.identity.purpose.both":             "protection and reward",
	"desk.case.refer.reason.correction":      "Correction: the earlier referral was incomplete or wrong",
	"desk.case.refer.reason.new-information": "New information: the reporter added items since",
	"desk.case.refer.reason.not-received":    "Not received: the agency did not get it or could not open it",
	"desk.case.refer.reason.requested":       "Requested by the receiving agency",
}

func (w ThreadWords) lang() string {
	if w.Lang == "" {
		return "en"
	}
	return w.Lang
}

func (w ThreadWords) has(key string) bool {
	if w.HasKey != nil {
		return w.HasKey(key)
	}
	_, ok := threadEnglish[key]
	return ok
}

// text is key's text with args.
func (w ThreadWords) text(key string, args ...any) string {
	if w.Text != nil {
		return w.Text(key, args...)
	}
	f, ok := threadEnglish[key]
	if !ok {
		return key
	}
	return fmt.Sprintf(f, args...)
}

// named is key's text when there is one, else id: for ids that come from
// the bundle (stages, kinds, purposes, reasons), whose names a catalogue
// may lack.
func (w ThreadWords) named(key, id string) string {
	if w.has(key) {
		return w.text(key)
	}
	return id
}

func (w ThreadWords) stage(id string) string { return w.named("stage."+id, id) }
func (w ThreadWords) kind(k Kind) string     { return w.named("desk.kind."+string(k), string(k)) }
func (w ThreadWords) purpose(p Purpose) string {
	return w.named("desk.identity.purpose."+string(p), string(p))
}
func (w ThreadWords) reason(r string) string { return w.named("desk.case.refer.reason."+r, r) }

// Summary is the link in one line of English, for the offline thread and
// the logs of the officer's machine.
func (l Custody) Summary() string { return l.summary(ThreadWords{}) }

func (l Custody) summary(w ThreadWords) string {
	var b strings.Builder
	if l.Incoming() {
		b.WriteString(w.text("desk.custody.in", l.Agency, l.Ref))
	} else {
		b.WriteString(w.text("desk.custody.out", l.Agency, l.Ref))
	}
	b.WriteString("; " + w.text("desk.custody.detail", l.Officer, l.Items))
	if l.Reason != "" {
		b.WriteString("; " + w.text("desk.custody.again") + " " + w.reason(l.Reason))
	}
	b.WriteString("; " + w.text("desk.custody.bundle") + " " + l.Bundle)
	b.WriteString("; " + w.text("desk.custody.source") + " " + l.Source)
	return b.String()
}
