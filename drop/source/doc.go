// Package source serves the reporter's interface: the landing page, the
// report form, the receipt, and follow-up with a receipt.
//
// Uploads are never parsed into memory or temporary files: the multipart
// body streams part by part, through a size limit, straight into the
// vault's sealing writers ([Store]). Nothing is committed until every
// writer has closed, so a cut or refused upload leaves nothing. The handler
// logs no address, header, field, file name, size or time; a reporter's
// reply key lives only in their in-memory session.
//
// The follow-up page tells the reporter what happens next: the earliest
// legal deadline of their case under [Config.Policy], its day and the days
// left, or plainly that it has passed. Dates on it are days, never times.
//
// Pages work without JavaScript and every string comes from the message
// catalogue.
package source
