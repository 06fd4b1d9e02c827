package bundle

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bundle layout.
const (
	// Format is the format of an export bundle's manifest.
	Format = "cleandrop-bundle/1"
	// ManifestName is the first file of a bundle; SignatureName, when the
	// bundle is signed, the second.
	ManifestName   = "manifest.json"
	SignatureName  = "manifest.json.sig"
	itemsDir       = "items/"
	maxManifestLen = 8 << 20
	maxSigLen      = 64 << 10
	maxNameFileLen = 64 << 10
	maxBundleItems = 100000
	maxItemSize    = 1 << 40
)

// MaxNameLen bounds an attachment's file name, in bytes.
const MaxNameLen = 1024

// Kind says what an item is.
type Kind string

// The kinds of item a case holds.
const (
	KindReport     Kind = "report"     // reporter's report text
	KindAttachment Kind = "attachment" // a file from the reporter (has a sealed name)
	KindAnswer     Kind = "answer"     // reporter's follow-up text
	KindQuestion   Kind = "question"   // officer -> reporter; also sealed to the case's reply recipient
	KindNote       Kind = "note"       // officer note to the reporter with a stage change; also sealed to the reply recipient
	// KindIdentity is the reporter's identity (name, contact, purpose), put
	// on file for protection or a reward. It is sealed only to the
	// agency's custodian recipients: not to its case officers, not to the
	// reporter's reply key. Its record carries the [Purpose].
	KindIdentity Kind = "identity"
	// KindCleaning says, for the files of its batch, which were cleaned
	// of hidden details before sealing and what was removed, or why not.
	// It is sealed like the report text.
	KindCleaning Kind = "cleaning"
)

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindReport, KindAttachment, KindAnswer, KindQuestion, KindNote, KindIdentity, KindCleaning:
		return true
	}
	return false
}

// Purpose is why a reporter put their identity on file.
type Purpose string

// The purposes of an identity.
const (
	PurposeProtection Purpose = "protection"
	PurposeReward     Purpose = "reward"
	PurposeBoth       Purpose = "both"
)

// Valid reports whether p is one of the purposes.
func (p Purpose) Valid() bool {
	return p == PurposeProtection || p == PurposeReward || p == PurposeBoth
}

// An Event is one entry in a case's stage history.
type Event struct {
	Day   string
	Stage string
	Batch int
}

// Custody actions.
const (
	CustodyOut = "referred-out" // the case was sent to another agency
	CustodyIn  = "referred-in"  // the case came from another agency
)

// Custody is one link in a case's chain of custody: the case was referred
// to, or received from, another agency's case. Bundle is the SHA-256 of
// the referral bundle as the desk received it, so both agencies can show
// they hold the same thing; Source is the SHA-256 of the signed export
// manifest the referral was made from.
type Custody struct {
	Day     string `json:"day"`
	Action  string `json:"action"`        // CustodyOut or CustodyIn
	Agency  string `json:"agency"`        // the other agency
	Ref     string `json:"ref"`           // the other case
	Bundle  string `json:"bundle_sha256"` // the referral bundle
	Source  string `json:"source_sha256"` // the export manifest it was made from
	Items   int    `json:"items"`         // items carried
	Officer string `json:"officer"`       // who filed the referral on the desk
	// Reason is why the case was referred to the same agency again: one
	// of the vault's referral reasons; "" for a first referral.
	Reason string `json:"reason,omitempty"`
}

// Incoming reports whether the case came by this link (rather than left).
func (l Custody) Incoming() bool { return l.Action == CustodyIn }

// ErrSameAgency: a case cannot be referred to its own agency.
var ErrSameAgency = errors.New("vault: a case cannot be referred to its own agency")

// Manifest is manifest.json, the first file of an export bundle.
type Manifest struct {
	Format   string          `json:"format"`
	Ref      string          `json:"ref"`
	Agency   string          `json:"agency"`
	Stage    string          `json:"stage"`
	Opened   string          `json:"opened"`
	Exported string          `json:"exported"`
	History  []ManifestEvent `json:"history"`
	Custody  []Custody       `json:"custody,omitempty"`
	Items    []ManifestItem  `json:"items"`
}

// ManifestEvent is one event of a [Manifest]'s stage history.
type ManifestEvent struct {
	Day   string `json:"day"`
	Stage string `json:"stage"`
	Batch int    `json:"batch"`
}

// ManifestItem is what a manifest records of one item: its file in the
// bundle ([ItemFile]), that file's size and SHA-256, and for an
// attachment its sealed name's file ([NameFile]) and SHA-256.
type ManifestItem struct {
	ID         int     `json:"id"`
	Batch      int     `json:"batch"`
	Kind       Kind    `json:"kind"`
	Day        string  `json:"day"`
	File       string  `json:"file"`
	Size       int64   `json:"size"`
	SHA256     string  `json:"sha256"`
	NameFile   string  `json:"name_file,omitempty"`
	NameSHA256 string  `json:"name_sha256,omitempty"`
	Purpose    Purpose `json:"purpose,omitempty"` // identity items only
}

// ItemFile is the name in a bundle of item id's sealed content.
func ItemFile(id int, kind Kind) string { return fmt.Sprintf("%s%03d-%s.age", itemsDir, id, kind) }

// NameFile is the name in a bundle of attachment id's sealed file name.
func NameFile(id int) string { return fmt.Sprintf("%s%03d-name.age", itemsDir, id) }

// Writer writes the files of a bundle (export or referral) as a tar
// stream: regular files, mode 0600, dated midnight (UTC) of the bundle's
// day, whatever the time they are written.
type Writer struct {
	tw    *tar.Writer
	out   *placing
	mtime time.Time
}

// NewWriter writes a bundle of day ("2006-01-02") to w.
func NewWriter(w io.Writer, day string) *Writer {
	out := &placing{w: w}
	return &Writer{tw: tar.NewWriter(out), out: out, mtime: Midnight(day)}
}

// Put writes one file of size bytes read from r.
func (b *Writer) Put(name string, size int64, r io.Reader) error {
	if err := b.Head(name, size); err != nil {
		return err
	}
	_, err := io.Copy(b.tw, r)
	return err
}

// Head starts a file of size bytes, which the caller then writes with
// [Writer.Write].
func (b *Writer) Head(name string, size int64) error {
	return b.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: b.mtime})
}

// Write writes to the file [Writer.Head] started; more than its size is
// an error.
func (b *Writer) Write(p []byte) (int, error) { return b.tw.Write(p) }

// Placed counts n bytes of the file [Writer.Head] started as written: the
// caller has put them into the underlying writer itself, right after
// what this Writer wrote there (an export copies a large item from file
// to file inside the kernel this way). The tar's padding and end then
// follow them as if they had been written with [Writer.Write].
func (b *Writer) Placed(n int64) error {
	b.out.skip = n
	defer func() { b.out.skip = 0 }()
	for n > 0 {
		k, err := b.tw.Write(zeros[:min(n, int64(len(zeros)))])
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// zeros is what [Writer.Placed] hands the tar writer, which passes it
// on to a placing that drops it.
var zeros [64 << 10]byte

// placing is the tar writer's destination: it drops the next skip bytes
// written to it, which are already in w.
type placing struct {
	w    io.Writer
	skip int64
}

func (p *placing) Write(b []byte) (int, error) {
	if p.skip == 0 {
		return p.w.Write(b)
	}
	if int64(len(b)) > p.skip {
		return 0, errors.New("bundle: more placed than counted")
	}
	p.skip -= int64(len(b))
	return len(b), nil
}

// Close ends the bundle. It does not close the underlying writer.
func (b *Writer) Close() error { return b.tw.Close() }

// Midnight is the start of day (UTC) as a time, for file times; the Unix
// epoch for a day that does not parse.
func Midnight(day string) time.Time {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	return t
}
