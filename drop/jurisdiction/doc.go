// Package jurisdiction loads and checks jurisdiction packs: the data that
// fits the drop to one country's law. A [Pack] holds the country's
// languages (the first is the default), its stages and legal deadlines (a
// [stage.Policy] whose every rule names its legal basis), the competent
// bodies as editable examples (never keys: the operator's configuration
// adds those), a law catalogue keyed by the fixed report [Categories], and
// the protection and rewards pages in every pack language.
//
// Packs are data: the five built in ([Codes]) are embedded, one folder
// each under packs/, and an operator can write their own folder and load
// it with [LoadDir]. [Check] lists every problem of a pack at once, in
// words an operator can act on; [Load] and [LoadDir] refuse a pack that
// has any.
//
// A pack holds public legal information only: nothing here is secret and
// nothing here concerns a reporter.
package jurisdiction
