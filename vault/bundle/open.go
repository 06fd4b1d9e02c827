package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
)

// ErrTampered is wrapped by every error [Open] returns for a bundle
// whose structure, sizes or checksums are not what its manifest says.
var ErrTampered = errors.New("bundle tampered or damaged")

// ErrUnsigned is wrapped by the error [OpenWith] returns for a bundle
// without a signature when a signature is required.
var ErrUnsigned = errors.New("the bundle is not signed")

// A Thread is an opened bundle: the case and its entries in ID order.
type Thread struct {
	Ref, Agency, Stage string
	Opened, Exported   string
	History            []Event
	Custody            []Custody // referrals in and out
	Entries            []Entry
}

// An Entry is one decrypted item of a [Thread].
type Entry struct {
	ID, Batch int
	Kind      Kind
	Day       string
	Text      string  // text kinds: the text (empty when longer than 8 MiB; see File)
	File      string  // relative path written in the output directory
	Name      string  // attachments: the decrypted original file name
	Purpose   Purpose // identities: what the reporter filed it for
	// Sealed marks an item these identities cannot open, left sealed and
	// not written: an identity, sealed to the agency's custodian, opened
	// with a case officer's key; or, opened with the custodian's key,
	// every item but the identities. Its checksum was still checked.
	Sealed bool

	long bool // text kinds: too long to keep in Text
}

// SealedNote says, in the offline tools' English, why a [Entry.Sealed]
// entry was not opened.
func (e Entry) SealedNote() string { return e.sealedNote(ThreadWords{}) }

func (e Entry) sealedNote(w ThreadWords) string {
	if e.Kind == KindIdentity {
		return w.text("thread.sealed.custodian")
	}
	return w.text("thread.sealed.officers")
}

// Long reports whether a text entry was too long to keep in Text; its text
// is then only in File.
func (e Entry) Long() bool { return e.long }

// OpenOptions adjust [OpenWith].
type OpenOptions struct {
	// Verify, when set, checks the detached signature manifest.json.sig
	// over manifest.json, before the manifest is parsed or any item read.
	// A bundle without a signature is then refused ([ErrUnsigned]).
	Verify func(manifest, sig []byte) error
	// Words label thread.txt and thread.html; the zero value labels them
	// in English.
	Words ThreadWords
}

// maxThreadText bounds the text of one entry kept in memory for the thread.
const maxThreadText = 8 << 20

// Open checks a bundle written by the vault's Store.Export, decrypts it with
// identities and writes it into outDir (created 0700; it must not exist or
// be empty): text items as NNN-<kind>.txt, attachments as
// files/NNN-<name>, and a readable thread.txt and thread.html.
//
// Every file is checked against the manifest (names, sizes, SHA-256, no
// missing, doubled or extra file) and decrypted once before anything is
// written; a failed check returns an error wrapping [ErrTampered]. Nothing
// is written outside outDir. If r cannot seek, the bundle (ciphertext) is
// first copied to a temporary file.
func Open(r io.Reader, identities []age.Identity, outDir string) (*Thread, error) {
	return OpenWith(r, identities, outDir, OpenOptions{})
}

// OpenWith is [Open] with options.
func OpenWith(r io.Reader, identities []age.Identity, outDir string, opts OpenOptions) (*Thread, error) {
	if len(identities) == 0 {
		return nil, errors.New("vault: open bundle: no identities")
	}
	rs, start, cleanup, err := rewindable(r)
	if err != nil {
		return nil, fmt.Errorf("vault: open bundle: %w", err)
	}
	defer cleanup()
	chk, err := checkBundle(rs, identities, opts)
	if err != nil {
		return nil, fmt.Errorf("vault: open bundle: %w", err)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("vault: open bundle: %w", err)
	}
	th, err := writeBundle(rs, chk, identities, outDir, opts.Words)
	if err != nil {
		return nil, fmt.Errorf("vault: open bundle: %w", err)
	}
	return th, nil
}

// Tampered is an error saying what is wrong with a bundle, wrapping
// [ErrTampered].
func Tampered(format string, a ...any) error {
	return fmt.Errorf(format+" (%w)", append(a, ErrTampered)...)
}

// rewindable returns r as a ReadSeeker and its start offset, spooling it to
// a temporary file when it cannot seek.
func rewindable(r io.Reader) (io.ReadSeeker, int64, func(), error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		if off, err := rs.Seek(0, io.SeekCurrent); err == nil {
			return rs, off, func() {}, nil
		}
	}
	f, err := os.CreateTemp("", "cleandrop-bundle-*.tar")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, 0, cleanup, nil
}

// expect is what the manifest says about one file of the bundle.
type expect struct {
	item   *ManifestItem
	isName bool
	size   int64 // -1: a name file, bounded by maxNameFileLen
	sum    string
	seen   bool
	sealed bool // not sealed to the identities (see Entry.Sealed)
}

// checked is the outcome of the first pass over a bundle.
type checked struct {
	m           Manifest
	manifestSum [32]byte
	files       map[string]*expect
	names       map[int]string // decrypted attachment names by item ID
	missed      []error        // files not sealed to the identities
}

// allowSealed decides whether the files the identities could not open may
// stay sealed. Two cases may, provided something was opened: a case
// officer's key that opens everything but the identities (sealed to the
// custodian), and a custodian's key that opens the identities and nothing
// else. Anything else is the wrong key, as before identities existed.
func (chk *checked) allowSealed() error {
	if len(chk.missed) == 0 {
		return nil
	}
	var openedOther, openedIdentity, missedOther bool
	for _, e := range chk.files {
		switch identity := e.item.Kind == KindIdentity; {
		case e.sealed && !identity:
			missedOther = true
		case !e.sealed && identity:
			openedIdentity = true
		case !e.sealed:
			openedOther = true
		}
	}
	if (!missedOther && openedOther) || (openedIdentity && !openedOther) {
		return nil
	}
	return chk.missed[0]
}

// checkBundle reads the whole bundle, checking its structure, every size and
// checksum, and decrypting every file to nowhere.
func checkBundle(r io.Reader, ids []age.Identity, opts OpenOptions) (*checked, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, Tampered("not a bundle: %v", err)
	}
	if hdr.Name != ManifestName {
		return nil, Tampered("first file is %q, not %s", hdr.Name, ManifestName)
	}
	mj, err := readSmall(tr, hdr, maxManifestLen)
	if err != nil {
		return nil, Tampered("%s: %v", ManifestName, err)
	}
	// The signature, when there is one, follows the manifest. It is
	// checked before the manifest is parsed or any item read: nothing of
	// an unauthenticated bundle is interpreted.
	hdr, err = tr.Next()
	if err != nil && err != io.EOF {
		return nil, Tampered("reading bundle: %v", err)
	}
	if hdr != nil && hdr.Name == SignatureName {
		sig, err := readSmall(tr, hdr, maxSigLen)
		if err != nil {
			return nil, Tampered("%s: %v", SignatureName, err)
		}
		if opts.Verify != nil {
			if err := opts.Verify(bytes.Clone(mj), sig); err != nil {
				return nil, Tampered("%s: %w", SignatureName, err)
			}
		}
		hdr = nil
	} else if opts.Verify != nil {
		return nil, Tampered("%s: %w", SignatureName, ErrUnsigned)
	}

	chk := &checked{manifestSum: sha256.Sum256(mj), names: make(map[int]string)}
	if err := parseManifest(mj, &chk.m); err != nil {
		return nil, Tampered("%s: %v", ManifestName, err)
	}
	chk.files = expectations(&chk.m)

	for {
		if hdr == nil {
			hdr, err = tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, Tampered("reading bundle: %v", err)
			}
		}
		e, err := lookupEntry(chk.files, hdr)
		hdr = nil
		if err != nil {
			return nil, err
		}
		e.seen = true
		var sink io.Writer = io.Discard
		var name bytes.Buffer
		if e.isName {
			sink = &limitWriter{w: &name, n: 4 * MaxNameLen}
		}
		derr := checkFile(tr, e, ids, sink)
		if e.isName && derr == nil {
			chk.names[e.item.ID] = name.String()
		}
		var nm *age.NoIdentityMatchError
		if errors.As(derr, &nm) {
			e.sealed = true
			chk.missed = append(chk.missed, derr)
			derr = nil
		}
		if derr != nil {
			return nil, derr
		}
	}
	for _, it := range chk.m.Items {
		if !chk.files[it.File].seen {
			return nil, Tampered("item %d: missing from bundle", it.ID)
		}
		if it.NameFile != "" && !chk.files[it.NameFile].seen {
			return nil, Tampered("item %d: name missing from bundle", it.ID)
		}
	}
	if err := chk.allowSealed(); err != nil {
		return nil, err
	}
	return chk, nil
}

// lookupEntry finds what the manifest expects of the file hdr introduces.
func lookupEntry(files map[string]*expect, hdr *tar.Header) (*expect, error) {
	e, ok := files[hdr.Name]
	switch {
	case !ok:
		return nil, Tampered("unexpected file %q", hdr.Name)
	case e.seen:
		return nil, Tampered("%s: appears twice", hdr.Name)
	case hdr.Typeflag != tar.TypeReg:
		return nil, Tampered("%s: not a regular file", hdr.Name)
	case e.isName && hdr.Size > maxNameFileLen:
		return nil, Tampered("item %d: name too large", e.item.ID)
	case !e.isName && hdr.Size != e.size:
		return nil, Tampered("item %d: size mismatch", e.item.ID)
	}
	return e, nil
}

// checkFile hashes and decrypts one file of the bundle into sink. A checksum
// mismatch wins over a decryption error, so that damage is named as such.
func checkFile(r io.Reader, e *expect, ids []age.Identity, sink io.Writer) error {
	h := sha256.New()
	tee := io.TeeReader(r, h)
	derr := errSealed // no identities: only the checksum is checked
	var dec io.Reader
	if len(ids) > 0 {
		dec, derr = age.Decrypt(tee, ids...)
	}
	if derr == nil {
		_, derr = io.Copy(sink, dec)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return Tampered("item %d: truncated: %v", e.item.ID, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != e.sum {
		if e.isName {
			return Tampered("item %d: name checksum mismatch", e.item.ID)
		}
		return Tampered("item %d: checksum mismatch", e.item.ID)
	}
	if errors.Is(derr, errSealed) {
		return derr
	}
	if derr != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(derr, &nomatch) {
			return fmt.Errorf("item %d: not sealed to the given identities: %w", e.item.ID, derr)
		}
		return Tampered("item %d: cannot decrypt: %v", e.item.ID, derr)
	}
	return nil
}

// errSealed is what checkFile returns for a file it was not asked to
// decrypt, once its checksum matched.
var errSealed = errors.New("vault: left sealed")

// readSmall reads a whole file of at most limit bytes.
func readSmall(r io.Reader, hdr *tar.Header, limit int64) ([]byte, error) {
	if hdr.Typeflag != tar.TypeReg {
		return nil, errors.New("not a regular file")
	}
	if hdr.Size > limit {
		return nil, errors.New("too large")
	}
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// parseManifest decodes and validates manifest.json strictly.
func parseManifest(b []byte, m *Manifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	if m.Format != Format {
		return fmt.Errorf("format %q, want %q", m.Format, Format)
	}
	for what, v := range map[string]string{"ref": m.Ref, "agency": m.Agency, "stage": m.Stage} {
		if !plainField(v) {
			return fmt.Errorf("bad %s", what)
		}
	}
	if !validDay(m.Opened) || !validDay(m.Exported) {
		return errors.New("bad day")
	}
	for _, e := range m.History {
		if !validDay(e.Day) || !plainField(e.Stage) || e.Batch < 1 {
			return errors.New("bad history event")
		}
	}
	for _, l := range m.Custody {
		if !validDay(l.Day) || (l.Action != CustodyIn && l.Action != CustodyOut) ||
			!plainField(l.Agency) || !plainField(l.Ref) || !plainField(l.Officer) ||
			!ValidSum(l.Bundle) || !ValidSum(l.Source) || l.Items < 0 {
			return errors.New("bad custody record")
		}
	}
	return parseItems(m.Items)
}

// parseItems validates a manifest's items and sorts them by ID.
func parseItems(items []ManifestItem) error {
	if len(items) > maxBundleItems {
		return errors.New("too many items")
	}
	seen := make(map[int]bool, len(items))
	for _, it := range items {
		switch {
		case it.ID < 1 || it.ID > maxBundleItems || seen[it.ID]:
			return fmt.Errorf("bad item ID %d", it.ID)
		case it.Batch < 1 || !it.Kind.Valid() || !validDay(it.Day):
			return fmt.Errorf("item %d: bad batch, kind or day", it.ID)
		case it.File != ItemFile(it.ID, it.Kind):
			return fmt.Errorf("item %d: bad file name", it.ID)
		case it.Size < 0 || it.Size > maxItemSize:
			return fmt.Errorf("item %d: bad size", it.ID)
		case !ValidSum(it.SHA256):
			return fmt.Errorf("item %d: bad checksum", it.ID)
		case it.NameFile == "" && it.NameSHA256 != "":
			return fmt.Errorf("item %d: name checksum without name", it.ID)
		case it.NameFile != "" && (it.Kind != KindAttachment || it.NameFile != NameFile(it.ID) || !ValidSum(it.NameSHA256)):
			return fmt.Errorf("item %d: bad name file", it.ID)
		case (it.Kind == KindIdentity) != it.Purpose.Valid() || (it.Kind != KindIdentity && it.Purpose != ""):
			return fmt.Errorf("item %d: bad purpose", it.ID)
		}
		seen[it.ID] = true
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return nil
}

func expectations(m *Manifest) map[string]*expect {
	files := make(map[string]*expect, 2*len(m.Items))
	for i := range m.Items {
		it := &m.Items[i]
		files[it.File] = &expect{item: it, size: it.Size, sum: it.SHA256}
		if it.NameFile != "" {
			files[it.NameFile] = &expect{item: it, isName: true, size: -1, sum: it.NameSHA256}
		}
	}
	return files
}

func validDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// ValidSum accepts a hex SHA-256 as the vault writes one: 64 lower-case
// hex digits.
func ValidSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// plainField accepts short, printable, single-line metadata.
func plainField(s string) bool {
	if len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || bidiControl(r) {
			return false
		}
	}
	return true
}

func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f
}

// writeBundle is the second pass: it decrypts every item into outDir,
// checking again that each file is the one checked in the first pass.
func writeBundle(r io.Reader, chk *checked, ids []age.Identity, outDir string, words ThreadWords) (th *Thread, err error) {
	out, err := newOutput(outDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			out.undo()
		}
		out.close()
	}()

	entries := make(map[int]*Entry, len(chk.m.Items))
	for _, f := range chk.files {
		f.seen = false
	}
	tr := tar.NewReader(r)
	changed := func() error { return Tampered("bundle changed while being opened") }
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Tampered("reading bundle: %v", err)
		}
		switch {
		case n == 0:
			mj, err := readSmall(tr, hdr, maxManifestLen)
			if err != nil || hdr.Name != ManifestName || sha256.Sum256(mj) != chk.manifestSum {
				return nil, changed()
			}
			continue
		case n == 1 && hdr.Name == SignatureName:
			continue
		}
		e, err := lookupEntry(chk.files, hdr)
		if err != nil {
			return nil, err
		}
		e.seen = true
		if e.sealed {
			if err := checkFile(tr, e, nil, io.Discard); err != nil && !errors.Is(err, errSealed) {
				return nil, err
			}
			if !e.isName {
				it := e.item
				entries[it.ID] = &Entry{ID: it.ID, Batch: it.Batch, Kind: it.Kind, Day: it.Day, Purpose: it.Purpose, Sealed: true}
			}
			continue
		}
		if e.isName {
			if err := checkFile(tr, e, ids, io.Discard); err != nil {
				return nil, err
			}
			continue
		}
		ent, err := out.writeItem(tr, e, ids, chk.names[e.item.ID])
		if err != nil {
			return nil, err
		}
		entries[ent.ID] = ent
	}
	th = &Thread{
		Ref: chk.m.Ref, Agency: chk.m.Agency, Stage: chk.m.Stage,
		Opened: chk.m.Opened, Exported: chk.m.Exported,
	}
	for _, e := range chk.m.History {
		th.History = append(th.History, Event(e))
	}
	th.Custody = chk.m.Custody
	for _, it := range chk.m.Items {
		ent, ok := entries[it.ID]
		if !ok {
			return nil, changed()
		}
		th.Entries = append(th.Entries, *ent)
	}
	if err := out.writeFile("thread.txt", renderText(th, words)); err != nil {
		return nil, err
	}
	html, err := renderHTML(th, words)
	if err != nil {
		return nil, err
	}
	if err := out.writeFile("thread.html", html); err != nil {
		return nil, err
	}
	return th, nil
}

// output writes files under one directory, through an os.Root so that no
// path can leave it, and can undo what it wrote.
type output struct {
	dir        string
	root       *os.Root
	madeDir    bool
	madeFiles  bool
	created    []string
	closedRoot bool
}

func newOutput(dir string) (*output, error) {
	o := &output{dir: dir}
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		o.madeDir = true
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	default:
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		if len(ents) > 0 {
			return nil, fmt.Errorf("output directory %s is not empty", dir)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	o.root = root
	return o, nil
}

func (o *output) create(name string) (*os.File, error) {
	if strings.HasPrefix(name, "files/") && !o.madeFiles {
		if err := o.root.Mkdir("files", 0o700); err != nil {
			return nil, err
		}
		o.madeFiles = true
	}
	f, err := o.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	o.created = append(o.created, name)
	return f, nil
}

func (o *output) writeFile(name string, data []byte) error {
	f, err := o.create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeItem decrypts one item into its file.
func (o *output) writeItem(r io.Reader, e *expect, ids []age.Identity, name string) (*Entry, error) {
	it := e.item
	ent := &Entry{ID: it.ID, Batch: it.Batch, Kind: it.Kind, Day: it.Day, Purpose: it.Purpose}
	var text *limitWriter
	if it.Kind == KindAttachment {
		ent.Name = name
		ent.File = fmt.Sprintf("files/%03d-%s", it.ID, safeName(name))
	} else {
		ent.File = fmt.Sprintf("%03d-%s.txt", it.ID, it.Kind)
		text = &limitWriter{w: new(bytes.Buffer), n: maxThreadText}
	}
	f, err := o.create(ent.File)
	if err != nil {
		return nil, err
	}
	var w io.Writer = f
	if text != nil {
		w = io.MultiWriter(f, text)
	}
	err = checkFile(r, e, ids, w)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if text != nil {
		ent.long = text.over
		if !text.over {
			ent.Text = text.w.(*bytes.Buffer).String()
		}
	}
	return ent, nil
}

// undo removes what was written.
func (o *output) undo() {
	for i := len(o.created) - 1; i >= 0; i-- {
		o.root.Remove(o.created[i])
	}
	if o.madeFiles {
		o.root.Remove("files")
	}
	o.close()
	if o.madeDir {
		os.Remove(o.dir)
	}
}

func (o *output) close() {
	if !o.closedRoot {
		o.closedRoot = true
		o.root.Close()
	}
}

// limitWriter keeps at most n bytes and notes whether more came.
type limitWriter struct {
	w    io.Writer
	n    int64
	over bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		l.over = true
		l.w.Write(p[:l.n])
		l.n = 0
		return len(p), nil
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// safeName turns an attachment's original name into a safe base name.
func safeName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || bidiControl(r) || strings.ContainsRune(`<>:"|?*`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Trim(b.String(), " .")
	if len(name) > 120 {
		cut := 120
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = strings.TrimRight(name[:cut], " .")
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// readable makes text safe to print on a terminal: valid UTF-8, and no
// control characters except newline and tab, no bidirectional overrides.
func readable(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || bidiControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func renderText(th *Thread, w ThreadWords) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s: %s\n%s: %s\n%s: %s\n%s: %s\n\n%s\n",
		w.text("thread.case", th.Ref), w.text("thread.agency"), th.Agency, w.text("thread.stage"), w.stage(th.Stage),
		w.text("thread.opened"), th.Opened, w.text("thread.exported"), th.Exported, w.text("thread.history"))
	for _, e := range th.History {
		fmt.Fprintf(&b, "  %s  %s  (%s)\n", e.Day, w.stage(e.Stage), w.text("thread.batch", e.Batch))
	}
	if len(th.Custody) > 0 {
		fmt.Fprintf(&b, "\n%s\n", w.text("desk.case.custody.title"))
	}
	for _, l := range th.Custody {
		fmt.Fprintf(&b, "  %s  %s\n", l.Day, l.summary(w))
	}
	for _, e := range th.Entries {
		fmt.Fprintf(&b, "\n[%03d] %s, %s, %s\n", e.ID, w.kind(e.Kind), e.Day, w.text("thread.batch", e.Batch))
		if e.Purpose != "" {
			fmt.Fprintf(&b, "%s: %s\n", w.text("thread.purpose"), w.purpose(e.Purpose))
		}
		switch {
		case e.Sealed:
			fmt.Fprintf(&b, "(%s)\n", e.sealedNote(w))
		case e.Kind == KindAttachment:
			fmt.Fprintf(&b, "%s: %s\n", w.text("thread.file"), readable(e.File))
			if e.Name != "" {
				fmt.Fprintf(&b, "%s: %s\n", w.text("thread.original_name"), readable(e.Name))
			}
		case e.long:
			fmt.Fprintf(&b, "(%s)\n", w.text("thread.see", e.File))
		default:
			b.WriteString(readable(e.Text))
			if !strings.HasSuffix(e.Text, "\n") {
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

// renderHTML renders thread.html with w's labels.
func renderHTML(th *Thread, w ThreadWords) ([]byte, error) {
	page := struct {
		*Thread
		Lang string
	}{th, w.lang()}
	t, err := threadHTML.Clone()
	if err != nil {
		return nil, err
	}
	t.Funcs(template.FuncMap{
		"t":       w.text,
		"stage":   w.stage,
		"kind":    w.kind,
		"purpose": w.purpose,
		"sealed":  func(e Entry) string { return e.sealedNote(w) },
		"custody": func(l Custody) string { return l.summary(w) },
	})
	var b bytes.Buffer
	if err := t.Execute(&b, page); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// threadHTML is a self-contained page: no script, no external resource,
// and a policy that forbids both. Its functions are bound per bundle on a
// clone (renderHTML).
var threadHTML = template.Must(template.New("thread").Funcs(template.FuncMap{
	"readable": readable,
	"t":        func(string, ...any) string { return "" },
	"stage":    func(string) string { return "" },
	"kind":     func(Kind) string { return "" },
	"purpose":  func(Purpose) string { return "" },
	"sealed":   func(Entry) string { return "" },
	"custody":  func(Custody) string { return "" },
}).Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{{t "thread.case" .Ref}}</title>
<style>body{font-family:sans-serif;max-width:50em;margin:1em auto;padding:0 1em}pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}</style>
</head><body>
<h1>{{t "thread.case" .Ref}}</h1>
<p>{{t "thread.agency"}}: {{.Agency}}<br>{{t "thread.stage"}}: {{stage .Stage}}<br>{{t "thread.opened"}}: {{.Opened}}<br>{{t "thread.exported"}}: {{.Exported}}</p>
<h2>{{t "thread.history"}}</h2>
<ul>{{range .History}}<li>{{.Day}}: {{stage .Stage}} ({{t "thread.batch" .Batch}})</li>{{end}}</ul>
{{if .Custody}}<h2>{{t "desk.case.custody.title"}}</h2>
<ul>{{range .Custody}}<li>{{.Day}}: {{custody .}}</li>{{end}}</ul>{{end}}
<h2>{{t "thread.items"}}</h2>
{{range .Entries}}<section>
<h3>[{{printf "%03d" .ID}}] {{kind .Kind}}, {{.Day}}, {{t "thread.batch" .Batch}}</h3>
{{if .Purpose}}<p>{{t "thread.purpose"}}: {{purpose .Purpose}}</p>
{{end}}{{if .Sealed}}<p>({{sealed .}})</p>
{{else if eq .Kind "attachment"}}<p>{{t "thread.file"}}: <code>{{readable .File}}</code>{{if .Name}}<br>{{t "thread.original_name"}}: <code>{{readable .Name}}</code>{{end}}</p>
{{else if .Long}}<p>({{t "thread.see" .File}})</p>
{{else}}<pre>{{readable .Text}}</pre>
{{end}}</section>
{{end}}</body></html>
`))
