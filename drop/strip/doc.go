// Package strip removes hidden details (metadata) from a reporter's files
// as they stream from the upload into the sealing writer, before anything
// is sealed.
//
// [Cleaner.Clean] tells a file's type by its content (magic bytes), never
// by its name. JPEG and PNG are filtered as they stream: segments and
// chunks that carry metadata are left out, everything a decoder needs is
// kept byte for byte. PDF and OOXML (docx, xlsx, pptx) need random access:
// the whole file is first spooled to an unnamed file (Linux O_TMPFILE, no
// directory entry ever) sealed with age to an X25519 identity made for
// that one file and held only in memory, then read back with
// [age.DecryptReaderAt]. No plaintext byte of a file ever reaches disk,
// and memory stays bounded whatever the file's size.
//
// A file of an unknown type, a damaged file, or one that cannot be cleaned
// within the bounds passes unchanged; the [Result] then says why, so the
// reporter and the officer are told. Clean fails only when the upload
// itself fails (reading the source, writing the destination, the spool).
//
// What is removed, and what is not (the content itself, the pixels, the
// text of a document, files embedded in it), is listed in
// docs/threat-model.md.
package strip
