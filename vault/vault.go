package vault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/bundle"
	"cleandrop/vault/durable"
)

// Kind says what an item is ([bundle.Kind]).
type Kind = bundle.Kind

// The kinds of item a case holds; see [bundle.KindReport] and the others.
const (
	KindReport     = bundle.KindReport
	KindAttachment = bundle.KindAttachment
	KindAnswer     = bundle.KindAnswer
	KindQuestion   = bundle.KindQuestion
	KindNote       = bundle.KindNote
	// KindIdentity is sealed only to the agency's [Agency.Custodian]
	// recipients: not to its case officers, not to the reporter's reply
	// key. Its record carries the [Purpose].
	KindIdentity = bundle.KindIdentity
	KindCleaning = bundle.KindCleaning
)

// toReporter reports whether items of kind k are also sealed to the
// case's reply recipient.
func toReporter(k Kind) bool { return k == KindQuestion || k == KindNote }

// Purpose is why a reporter put their identity on file ([bundle.Purpose]).
type Purpose = bundle.Purpose

// The purposes of an identity.
const (
	PurposeProtection = bundle.PurposeProtection
	PurposeReward     = bundle.PurposeReward
	PurposeBoth       = bundle.PurposeBoth
)

// InitialStage is the stage of a newly committed case.
const InitialStage = "received"

// Errors that callers branch on.
var (
	ErrNotFound      = errors.New("vault: not found")
	ErrUnknownAgency = errors.New("vault: unknown agency")
	ErrExists        = errors.New("vault: lookup key already in use")
	ErrBusy          = errors.New("vault: a writer is still open")
	// ErrNoReporter: the case has no reply key (it came by referral), so
	// nothing can be sealed to its reporter.
	ErrNoReporter = errors.New("vault: the case has no reporter access")
	// ErrNoCustodian: the case's agency has no custodian, so no identity
	// can be sealed for it.
	ErrNoCustodian = errors.New("vault: the agency has no custodian")
	// ErrNoSpace: the file system ran out of space while the batch
	// wrote; the batch is finished and left nothing.
	ErrNoSpace = errors.New("vault: no space left on the device")
	// ErrStorage: the vault's storage failed (a write or read of Badger,
	// a pack file, PostgreSQL or the object store); what the batch wrote
	// is dropped. errors.Is finds it in every such error, with
	// [ErrNoSpace] where the storage said it was full.
	ErrStorage = errors.New("vault: storage failure")
	// ErrLowSpace: free space is below [Options.MinFree]; a new batch
	// is refused, and a batch that crosses the floor while it writes is
	// cut and leaves nothing.
	ErrLowSpace = errors.New("vault: free space below the configured floor")
	// ErrUncertain: the store lost the connection after the batch's
	// commit was sent, so it may have landed or not; errors.Is finds
	// [ErrStorage] in it too. Its bytes are kept either way: if the
	// commit did not land they are ciphertext nothing references.
	ErrUncertain = errors.New("vault: the commit may or may not have landed")
)

// An Agency receives reports. Items of its cases are sealed to Recipients,
// except identities, which are sealed to Custodian only (none: the agency
// takes no identity).
type Agency struct {
	ID, Name   string
	Recipients []age.Recipient
	Custodian  []age.Recipient
}

// Options configure a [Store].
type Options struct {
	Agencies []Agency         // recipients used for sealing
	Logger   *slog.Logger     // nil = discard
	Now      func() time.Time // nil = time.Now; gives the days stored, not the ticks

	// Tick is the period of the store's schedule ([DefaultTick] when
	// zero). Commits wait for the next tick, a wall-clock multiple of Tick,
	// and every tick writes, whether or not anything waited: see the
	// package documentation.
	Tick time.Duration
	// MaxUploads is the number of pack slots ([DefaultMaxUploads] when
	// zero): how many batches may hold sealed items too large for Badger
	// at once. A batch that needs a slot while all are held waits for one.
	// Wire the same number as the server's bound on concurrent uploads.
	MaxUploads int
	// MinFree is the free space, in bytes, that the file system holding
	// the vault keeps: new batches are refused with [ErrLowSpace] below
	// it, and a large item checks it every few MiB it writes. Zero
	// disables the check.
	MinFree int64
	// SweepAfter, for a shared store ([OpenShared]), is how old an
	// upload that was neither committed nor aborted must be before it is
	// swept as abandoned (a crashed front-end's); it must be far above
	// the longest upload. Committed blobs that no item references are
	// looked for every SweepAfter, or every hour if that is sooner.
	// Zero: [DefaultSweepAfter].
	SweepAfter time.Duration
	// PackStream, when set, is called with true when a batch takes a
	// pack slot for a large item and with false when it gives the slot
	// back. In between, the batch's goroutines spend much of their time
	// in blocking file system calls (the item's direct writes, the
	// commit's fsync). It runs in the batch's goroutines, which it must
	// not hold up or call the store from; calls for different batches may
	// come at once. Only an embedded store has pack slots.
	PackStream func(on bool)
}

// DefaultSweepAfter is [Options.SweepAfter] when zero.
const DefaultSweepAfter = 6 * time.Hour

// Access holds the credentials the receipt package makes for a case. The
// vault stores them (encrypted at rest) and never interprets them, except
// for ReplyRecipient, which it seals to.
type Access struct {
	Lookup         []byte // receipt-derived lookup key: unique index -> case
	KDF            string // KDF parameters used (opaque string)
	ReplyRecipient string // age recipient ("age1..." or "age1pq1...") of the reporter's reply key
	WrappedReply   []byte // reporter's reply identity, wrapped (opaque)
}

// An Item is the record of one sealed item of a case.
type Item struct {
	ID     int    // 1.. in commit order within the case
	Batch  int    // 1.. one per committed batch
	Kind   Kind   //
	Day    string // day committed, "2006-01-02" UTC
	Size   int64  // ciphertext bytes
	SHA256 string // hex of the ciphertext
	Name   []byte // age ciphertext of the attachment's file name (nil when none)
	// Purpose is why an identity was filed ([KindIdentity] only). It is
	// metadata, encrypted at rest like all metadata but readable by the
	// server, so that officers can be told what the identity is for.
	Purpose Purpose `json:",omitempty"`
}

// An Event is one entry in a case's stage history ([bundle.Event]).
type Event = bundle.Event

// A Case is the metadata of one case. The first History event is the
// initial stage.
type Case struct {
	Ref, Agency, Stage string
	Opened, Updated    string // days
	Access             Access
	Items              []Item
	History            []Event
	Custody            []Custody // referrals in and out, oldest first
}

// Store is a vault. Its records are in a [backend.Meta] and its large
// items in pack files on local disk ([Open], the embedded default) or in a
// [backend.Blobs] that several front-ends share ([OpenShared]). It is safe
// for concurrent use.
type Store struct {
	dir      string
	blobs    string // items stored before packs, one file each
	packs    *packs // nil for a shared store
	clock    *clock
	mem      memtable
	db       *badger.DB // nil for a shared store
	meta     backend.Meta
	objects  backend.Blobs // nil for the embedded store
	k        keyer
	auditKey []byte          // the shared audit log's MAC key; nil for the embedded store
	ctx      context.Context // cancelled when the store has closed
	cancel   context.CancelFunc
	reaper   reaper
	settler  settler
	log      *slog.Logger
	now      func() time.Time
	agencies map[string]Agency
	minFree  int64
	maxUp    int
	stream   func(on bool) // Options.PackStream
	idle     time.Duration // shared store: uploads older than this are abandoned

	mu     sync.Mutex
	closed bool
}

const (
	keyFile   = "vault.key"
	badgerDir = "badger"
	blobDir   = "blobs"
	tmpPrefix = ".tmp-"
	blobExt   = ".age"
)

// Open opens the vault kept in dir, creating it (mode 0700) with its layout
// vault.key, badger/ and packs/ on first use. It cuts pack files back to
// their last committed item and removes temporary files and (in a vault
// from before packs) blob files that no committed item references, left by
// aborted batches or a crash. Then it starts the store's schedule.
func Open(dir string, opts Options) (*Store, error) {
	s, err := newStore(dir, opts)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{dir, filepath.Join(dir, packDir), filepath.Join(dir, badgerDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
	}
	// Badger's Open maps a new write-ahead file and reads it: on a full
	// tmpfs that read is a SIGBUS (measured), so refuse first.
	if err := s.badgerRoom(); err != nil {
		return nil, err
	}
	key, err := loadKey(dir)
	if err != nil {
		return nil, err
	}
	// A crash while Badger made a memtable's or a value log's file can
	// leave it empty, and Badger then refuses to open for good.
	dropped, err := badgerstore.DropEmptyLogFiles(filepath.Join(dir, badgerDir))
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if len(dropped) > 0 {
		s.log.Warn("vault: removed empty log files a crash left", "files", len(dropped))
	}
	db, err := badger.Open(badgerOptions(filepath.Join(dir, badgerDir), key, s.mem.size, s.log))
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("vault: open badger: %w", err)
	}
	s.db = db
	s.meta = badgerstore.NewMeta(db)
	if err := s.sweep(); err != nil {
		db.Close()
		return nil, err
	}
	if s.packs, err = openPacks(filepath.Join(dir, packDir), s.maxUp, s.day(), s.clock.quit); err != nil {
		db.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	go s.run()
	return s, nil
}

// newStore checks opts and makes the Store both kinds of vault share.
func newStore(dir string, opts Options) (*Store, error) {
	if opts.Tick < 0 || opts.MaxUploads < 0 || opts.MinFree < 0 || opts.SweepAfter < 0 {
		return nil, errors.New("vault: negative tick, upload slots, free space or sweep age")
	}
	if opts.SweepAfter == 0 {
		opts.SweepAfter = uploadIdle
	}
	if opts.Tick == 0 {
		opts.Tick = DefaultTick
	}
	if opts.MaxUploads == 0 {
		opts.MaxUploads = DefaultMaxUploads
	}
	s := &Store{
		dir:      dir,
		blobs:    filepath.Join(dir, blobDir),
		log:      opts.Logger,
		now:      opts.Now,
		agencies: make(map[string]Agency, len(opts.Agencies)),
		clock:    newClock(opts.Tick),
		mem:      memtable{size: memTableSize},
		minFree:  opts.MinFree,
		maxUp:    opts.MaxUploads,
		stream:   opts.PackStream,
		idle:     opts.SweepAfter,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, a := range opts.Agencies {
		if a.ID == "" {
			return nil, errors.New("vault: agency with empty ID")
		}
		if len(a.Recipients) == 0 {
			return nil, fmt.Errorf("vault: agency %q has no recipients", a.ID)
		}
		if _, dup := s.agencies[a.ID]; dup {
			return nil, fmt.Errorf("vault: agency %q listed twice", a.ID)
		}
		s.agencies[a.ID] = a
	}
	return s, nil
}

// badgerOptions tunes Badger for small metadata with flat memory, durable
// commits and encryption at rest. Encryption needs both caches: without the
// index cache Badger dies at its first memtable flush.
func badgerOptions(dir string, key []byte, memtable int64, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithEncryptionKey(key).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithSyncWrites(true).
		WithMemTableSize(memtable).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(64 << 20).
		WithNumVersionsToKeep(1).
		WithNumCompactors(2).
		WithCompression(options.None). // ciphertext does not compress
		WithMetricsEnabled(false).
		WithLogger(badgerLogger{log.With("component", "badger")})
}

// badgerLogger passes Badger's warnings and errors to slog and drops the rest.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// loadKey reads the Badger encryption key, making it on first use.
func loadKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, keyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) != 32 {
			return nil, fmt.Errorf("vault: %s: want 32 bytes, have %d", keyFile, len(key))
		}
		return key, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("vault: read key: %w", err)
	}
	// A missing key beside existing data would make a new, empty-looking
	// database impossible to open: refuse rather than guess.
	if ents, err := os.ReadDir(filepath.Join(dir, badgerDir)); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("vault: %s is missing but %s/ holds data", keyFile, badgerDir)
	}
	key = make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vault: create key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("vault: write key: %w", err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("vault: write key: %w", err)
	}
	return key, nil
}

// Close closes the store at the next commit step, after committing the
// batches already waiting for it, and sets its files' times to the last
// tick. Batches still open are not committed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	c := s.clock
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	close(c.quit)
	<-c.done
	c.mu.Lock()
	hooks := c.hooks
	c.mu.Unlock()
	for _, h := range hooks {
		h(time.Time{}) // the schedule has ended
	}
	s.cancel()
	s.reaper.wait()
	s.settler.wait()
	if s.db == nil {
		if err := s.meta.Close(); err != nil {
			return fmt.Errorf("vault: close: %w", err)
		}
		return nil
	}
	err := s.db.Close()
	s.packs.close()
	// Badger writes its last memtable as it closes: a moment after the
	// last tick, whose time the files take again.
	last := c.last
	if last.IsZero() { // closed before its first tick
		last = after(time.Now(), c.period).Add(-c.period)
	}
	s.touch(last)
	if err != nil {
		return fmt.Errorf("vault: close: %w", err)
	}
	return nil
}

// day is the current day, UTC.
func (s *Store) day() string { return s.now().UTC().Format(time.DateOnly) }

// Keys of the metadata store.
//
//	c/<ref>          caseRecord (JSON)
//	i/<ref>/<id>     itemRecord (JSON), id zero-padded so keys sort by ID
//	d/<ref>/<id>     inline ciphertext
//	l/<lookup>       ref
//	r/<kind>/<id>    a [Record]
//
// In a shared store ([OpenShared]) the parts in angle brackets, but the
// item number, are replaced by an HMAC of them under a key derived from
// the vault key: a database that holds only ciphertext values still
// shows its keys to whoever runs it, and case references, lookup keys
// and officers' names are not theirs to see.
type keyer struct {
	mac []byte // nil: parts as they are (the embedded store encrypts keys too)
}

func (k keyer) part(s string) string {
	if k.mac == nil {
		return s
	}
	h := hmac.New(sha256.New, k.mac)
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)[:20])
}

func (k keyer) caseKey(ref string) []byte    { return []byte("c/" + k.part(ref)) }
func (k keyer) itemPrefix(ref string) []byte { return []byte("i/" + k.part(ref) + "/") }
func (k keyer) itemKey(ref string, id int) []byte {
	return fmt.Appendf(nil, "i/%s/%08d", k.part(ref), id)
}
func (k keyer) dataKey(ref string, id int) []byte {
	return fmt.Appendf(nil, "d/%s/%08d", k.part(ref), id)
}
func (k keyer) lookupKey(l []byte) []byte {
	if k.mac == nil {
		return append([]byte("l/"), l...)
	}
	return []byte("l/" + k.part(string(l)))
}

type caseRecord struct {
	Ref     string
	Agency  string
	Stage   string
	Opened  string
	Updated string
	Access  Access
	History []Event
	Custody []Custody `json:",omitempty"`
	Items   int       // items committed; the next ID is Items+1
	Batches int       // batches committed
}

type itemRecord struct {
	Item
	Blob string `json:",omitempty"` // file name in blobs/ (stored before packs)
	Pack string `json:",omitempty"` // pack file name in packs/
	Off  int64  `json:",omitempty"` // where the item starts in Pack; Size bytes long
	// Object is the item's blob in the shared store's [backend.Blobs].
	Object string `json:",omitempty"`
	// An item with none of Blob, Pack and Object is inline.
}

// sweep cuts packs back to their committed items and removes temporary
// files and unreferenced blobs.
func (s *Store) sweep() error {
	r, err := loadRefs(s.ctx, s.meta)
	if err != nil {
		return fmt.Errorf("vault: sweep: %w", err)
	}
	used := r.blobs
	n, err := sweepPacks(filepath.Join(s.dir, packDir), s.day(), r.spans)
	if err != nil {
		return fmt.Errorf("vault: sweep: %w", err)
	}
	if n > 0 {
		s.log.Info("vault: cut back pack files of uncommitted batches", "count", n)
	}
	ents, err := os.ReadDir(s.blobs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vault: sweep: %w", err)
	}
	removed := 0
	for _, e := range ents {
		name := e.Name()
		orphan := strings.HasPrefix(name, tmpPrefix) || (strings.HasSuffix(name, blobExt) && !used[name])
		if !orphan || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobs, name)); err != nil {
			return fmt.Errorf("vault: sweep: %w", err)
		}
		removed++
	}
	if removed > 0 {
		if err := durable.SyncDir(s.blobs); err != nil {
			return fmt.Errorf("vault: sweep: %w", err)
		}
		s.log.Info("vault: removed files of uncommitted batches", "count", removed)
	}
	return nil
}

var _ io.Closer = (*Store)(nil)
