// Package source serves the reporter's interface: the landing page, the
// report form, the receipt, and follow-up with a receipt.
//
// Uploads are never parsed into memory or temporary files: the multipart
// body streams part by part, through a size limit, straight into the
// vault's sealing writers ([Store]). Nothing is committed until every
// writer has closed, so a cut or refused upload leaves nothing. The handler
// logs no address, header, field, file name, size or time; a reporter's
// reply key lives only in their session: in memory, or, with
// [Config.Shared] (several front-ends), in the shared store sealed under a
// key derived from the session cookie, which only the reporter's browser
// holds, so that it never opens at rest.
//
// Files are cleaned of hidden details ([strip.Cleaner]) on their way into
// the sealing writer unless the form's strip field says not to; the
// receipt or case page lists what became of each file, by the name sent
// in that request, and a sealed cleaning item tells the officer the same.
//
// The follow-up page tells the reporter what happens next: the earliest
// legal deadline of their case under [Config.Policy], its day and the days
// left, or plainly that it has passed. Dates on it are days, never times.
//
// The directory ([Agency], GET /agencies) finds the competent body among
// many before the report is written: a search over the agency's names in
// every language, Latin forms of Cyrillic and Hangul names, keywords,
// sector and region, and browsing by sector and region. It carries nothing
// a reporter typed into a report, and logs no search.
//
// A report is written in two steps, both plain form posts: the draft,
// with "Help me write this" ([Config.Guide]: the categories, laws, body
// and outline it suggests) and "Next: check before sending", which names
// the identifying details in the draft (package exposure) and only then
// offers the files and the button that sends everything to POST /report.
// Those two answers read the draft in memory, bounded by [MaxDraft], in
// turns across circuits ([Config.Drafts]); nothing of a draft or of what
// was found in it is logged, stored or kept after the answer.
//
// Pages work without JavaScript and every string comes from the message
// catalogue.
package source
