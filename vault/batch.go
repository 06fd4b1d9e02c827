package vault

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"

	"filippo.io/age"

	"cleandrop/vault/backend"
	"cleandrop/vault/bundle"
	"cleandrop/vault/durable"
)

// inlineMax is the largest sealed item kept in memory and stored in Badger.
const inlineMax = 64 << 10

// maxNameLen bounds an attachment's file name, in bytes.
const maxNameLen = bundle.MaxNameLen

var (
	errFinished = errors.New("vault: batch already committed or aborted")
	errAborted  = errors.New("vault: batch aborted")
)

// A Batch gathers items for one case and commits them together, or not at
// all. Nothing of a batch is visible before [Batch.Commit] returns; a batch
// that is never committed leaves nothing behind. Call [Batch.Abort] when
// done (it is a no-op after a successful Commit).
type Batch struct {
	s      *Store
	ref    string // "" for a new case
	agency Agency
	acc    Access        // new case only
	reply  age.Recipient // nil for a case that came by referral
	refer  *referral     // new case received by referral

	mu       sync.Mutex
	open     *sealWriter
	items    []*pending
	size     int64 // what the items' records will add to the commit ([Store.budget])
	slot     *pack // held from the first large item to the end of the batch
	large    bool  // slot was taken for a large item: Options.PackStream heard of it
	pos      int64 // end of what the batch wrote to slot
	stage    string
	stageSet bool
	done     bool
	err      error // a sealing failure: the batch can only be aborted
	// aborted is closed by Abort, so that a writer waiting for a pack
	// slot gives up rather than hold Abort until a slot frees.
	aborted chan struct{}
	// small is the pack a batch without a slot wrote its small items to,
	// and smallEnd the end of them: the pack must be durable up to there
	// before the commit.
	small    *pack
	smallEnd int64
	// objects are the blobs of a shared store this batch committed, to
	// be deleted if its transaction fails.
	objects []string
}

// pending is one sealed item waiting for its commit.
type pending struct {
	kind    Kind
	purpose Purpose
	name    []byte
	size    int64
	sum     string
	inline  []byte         // ciphertext, when small
	pack    string         // else the pack holding it (the batch's slot)
	off     int64          // and where in the pack it starts
	up      backend.Upload // or, in a shared store, its upload
	object  string         // once committed
}

// NewCase starts the first batch of a new case for agency. The case exists
// only once the batch commits; [Batch.Commit] returns its reference, or
// [ErrExists] if another case already uses acc.Lookup.
func (s *Store) NewCase(agency string, acc Access) (*Batch, error) {
	a, ok := s.agencies[agency]
	if !ok {
		return nil, ErrUnknownAgency
	}
	if len(acc.Lookup) == 0 {
		return nil, errors.New("vault: new case: empty lookup key")
	}
	reply, err := parseRecipient(acc.ReplyRecipient)
	if err != nil {
		return nil, fmt.Errorf("vault: new case: %w", err)
	}
	if err := s.room(); err != nil {
		return nil, fmt.Errorf("vault: new case: %w", err)
	}
	acc.Lookup = bytes.Clone(acc.Lookup)
	acc.WrappedReply = bytes.Clone(acc.WrappedReply)
	return &Batch{s: s, agency: a, acc: acc, reply: reply, aborted: make(chan struct{})}, nil
}

// Append starts a batch that adds to the existing case ref.
func (s *Store) Append(ref string) (*Batch, error) {
	var c caseRecord
	err := s.view(func(tx backend.Tx) error {
		var err error
		c, err = s.loadRecord(tx, normalizeRef(ref))
		return err
	})
	if err != nil {
		return nil, err
	}
	a, ok := s.agencies[c.Agency]
	if !ok {
		return nil, ErrUnknownAgency
	}
	if err := s.room(); err != nil {
		return nil, fmt.Errorf("vault: append: %w", err)
	}
	b := &Batch{s: s, ref: c.Ref, agency: a, aborted: make(chan struct{})}
	if c.Access.ReplyRecipient != "" {
		if b.reply, err = parseRecipient(c.Access.ReplyRecipient); err != nil {
			return nil, fmt.Errorf("vault: append: %w", err)
		}
	}
	return b, nil
}

// parseRecipient parses an X25519 ("age1...") or hybrid post-quantum
// ("age1pq1...") recipient.
func parseRecipient(s string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("reply recipient: %w", err)
		}
		return r, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("reply recipient: %w", err)
		}
		return r, nil
	}
	return nil, errors.New("reply recipient is not an age recipient")
}

// Add starts a new item of the given kind and returns the writer its
// plaintext goes into. The plaintext is sealed as it streams: to the
// agency's recipients, and for [KindQuestion] and [KindNote] also to the
// case's reply recipient. name is the file name of a [KindAttachment]
// ("" for none); it is sealed to the same recipients. Only one writer may be
// open at a time ([ErrBusy]). The writer's Close finishes sealing and must be
// called, and checked, before [Batch.Commit].
func (b *Batch) Add(kind Kind, name string) (io.WriteCloser, error) {
	if kind == KindIdentity {
		return nil, errors.New("vault: an identity is added with AddIdentity")
	}
	return b.add(kind, name, "")
}

// AddIdentity starts the reporter's identity, filed for purpose, and
// returns the writer its plaintext goes into, as [Batch.Add] does. It is
// sealed only to the agency's custodian recipients; an agency without a
// custodian refuses it with [ErrNoCustodian].
func (b *Batch) AddIdentity(purpose Purpose) (io.WriteCloser, error) {
	if !purpose.Valid() {
		return nil, fmt.Errorf("vault: unknown identity purpose %q", purpose)
	}
	return b.add(KindIdentity, "", purpose)
}

func (b *Batch) add(kind Kind, name string, purpose Purpose) (io.WriteCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.done:
		return nil, errFinished
	case b.open != nil:
		return nil, ErrBusy
	case b.err != nil:
		return nil, b.err
	case !kind.Valid():
		return nil, fmt.Errorf("vault: unknown item kind %q", kind)
	case name != "" && kind != KindAttachment:
		return nil, fmt.Errorf("vault: a %s item has no name", kind)
	case len(name) > maxNameLen:
		return nil, errors.New("vault: attachment name too long")
	case toReporter(kind) && b.reply == nil:
		return nil, ErrNoReporter
	case kind == KindIdentity && len(b.agency.Custodian) == 0:
		return nil, ErrNoCustodian
	}
	recips := b.agency.Recipients
	switch {
	case toReporter(kind):
		recips = append(recips[:len(recips):len(recips)], b.reply)
	case kind == KindIdentity:
		recips = b.agency.Custodian
	}
	p := &pending{kind: kind, purpose: purpose}
	if name != "" {
		var err error
		if p.name, err = bundle.Seal([]byte(name), recips); err != nil {
			return nil, fmt.Errorf("vault: seal name: %w", err)
		}
	}
	if budget := b.s.budget(); budget > 0 {
		n := itemSize(p)
		if b.size+n > budget {
			return nil, ErrBatchFull
		}
		b.size += n
	}
	sp := &spill{b: b}
	pp := newPipe(sp)
	w, err := age.Encrypt(pp, recips...)
	if err != nil {
		pp.stop()
		sp.discard()
		return nil, fmt.Errorf("vault: seal %s: %w", kind, err)
	}
	sw := &sealWriter{b: b, p: p, age: w, plain: plainPipe(w, sp.claim), sp: sp, pipe: pp}
	b.open = sw
	return sw, nil
}

// SetStage records a change of the case's stage in this batch.
func (b *Batch) SetStage(stage string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stage, b.stageSet = stage, true
}

// Commit stores the batch in one transaction and returns the case
// reference. It returns [ErrBusy] while a writer is still open (the batch
// stays usable), and an error for a batch with neither items nor a stage
// change. After any other error the batch is finished and has left nothing.
func (b *Batch) Commit() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.done:
		return "", errFinished
	case b.open != nil:
		return "", ErrBusy
	case b.err != nil:
		err := b.err
		b.discardLocked()
		return "", err
	case len(b.items) == 0 && !b.stageSet:
		return "", errors.New("vault: empty batch")
	case b.stageSet && b.stage == "":
		return "", errors.New("vault: empty stage")
	}
	if err := b.packSmall(); err != nil {
		b.discardLocked()
		return "", fmt.Errorf("vault: commit: %w", spaceErr(err))
	}
	if b.slot != nil {
		// The items are on disk before the commit that makes them visible.
		if err := b.slot.f.Sync(); err != nil {
			b.discardLocked()
			return "", fmt.Errorf("vault: commit: %w", spaceErr(err))
		}
	}
	if err := b.commitObjects(); err != nil {
		b.discardLocked()
		return "", fmt.Errorf("vault: commit: %w", dbErr("commit object", err))
	}
	var ref string
	var uncertain bool
	var refused error // an error of the transaction's own logic: nothing landed
	err := b.s.atTick(func() error {
		if b.small != nil {
			// One fsync for all the batches of small items of this
			// step: the first covers what every one of them kept.
			if err := b.s.packs.sync(b.small, b.smallEnd); err != nil {
				return fmt.Errorf("vault: commit: %w", spaceErr(err))
			}
		}
		day := b.s.day()
		ctx, cancel := context.WithTimeout(b.s.ctx, metaTimeout)
		defer cancel()
		err := b.s.meta.Update(ctx, func(tx backend.Tx) error {
			var err error
			ref, err = b.tryCommit(tx, day)
			refused = err
			return err
		})
		// The commit itself failed (not the transaction's logic, not a
		// lost race): it may have landed all the same.
		uncertain = err != nil && refused == nil && !errors.Is(err, backend.ErrConflict)
		return err
	})
	if err != nil {
		if uncertain {
			// The transaction may have landed: keep the bytes. If it did
			// not, they are ciphertext nothing references.
			b.items = nil
			b.objects = nil
			b.done = true
			b.releaseSlot(true)
		} else {
			b.discardLocked()
		}
		if refused != nil {
			return "", refused
		}
		if errors.Is(err, backend.ErrUncertain) {
			return "", fmt.Errorf("%w: %w", ErrUncertain, dbErr("commit", err))
		}
		return "", dbErr("commit", err)
	}
	b.done = true
	b.items = nil
	b.objects = nil
	b.releaseSlot(true)
	b.s.log.Debug("vault: batch committed")
	return ref, nil
}

// tryCommit writes the batch's records in tx. It may run more than once
// (a lost race runs it again): it changes nothing outside tx.
func (b *Batch) tryCommit(tx backend.Tx, day string) (ref string, err error) {
	var rec caseRecord
	if b.refer != nil {
		if ref, err = b.newRef(tx); err != nil {
			return "", err
		}
		rec = caseRecord{
			Ref: ref, Agency: b.agency.ID, Stage: InitialStage, Opened: day, Access: b.acc,
			History: []Event{{Day: day, Stage: InitialStage, Batch: 1}},
		}
		if err := b.refer.commit(b.s, tx, &rec, len(b.items), day); err != nil {
			return "", err
		}
	} else if b.ref == "" {
		lk := b.s.k.lookupKey(b.acc.Lookup)
		switch _, err := tx.Get(lk); {
		case err == nil:
			return "", ErrExists
		case !errors.Is(err, backend.ErrNotFound):
			return "", dbErr("commit: lookup", err)
		}
		if ref, err = b.newRef(tx); err != nil {
			return "", err
		}
		rec = caseRecord{
			Ref:     ref,
			Agency:  b.agency.ID,
			Stage:   InitialStage,
			Opened:  day,
			Access:  b.acc,
			History: []Event{{Day: day, Stage: InitialStage, Batch: 1}},
		}
		if err := b.s.put(tx, lk, []byte(ref)); err != nil {
			return "", dbErr("commit: write lookup", err)
		}
	} else {
		ref = b.ref
		if rec, err = b.s.loadRecord(tx, ref); err != nil {
			return "", err
		}
	}
	rec.Batches++
	rec.Updated = day
	for _, p := range b.items {
		rec.Items++
		ir := itemRecord{
			Item: Item{ID: rec.Items, Batch: rec.Batches, Kind: p.kind, Day: day, Size: p.size, SHA256: p.sum, Name: p.name, Purpose: p.purpose},
			Pack: p.pack, Off: p.off, Object: p.object,
		}
		v, err := json.Marshal(ir)
		if err != nil {
			return "", err
		}
		if err := b.s.put(tx, b.s.k.itemKey(ref, ir.ID), v); err != nil {
			return "", dbErr("commit: write item", err)
		}
		if p.pack == "" && p.object == "" {
			if err := b.s.put(tx, b.s.k.dataKey(ref, ir.ID), p.inline); err != nil {
				return "", dbErr("commit: write item data", err)
			}
		}
	}
	if b.stageSet {
		rec.Stage = b.stage
		rec.History = append(rec.History, Event{Day: day, Stage: b.stage, Batch: rec.Batches})
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	if err := b.s.put(tx, b.s.k.caseKey(ref), v); err != nil {
		return "", dbErr("commit: write case", err)
	}
	return ref, nil
}

// newRef picks an unused case reference.
func (b *Batch) newRef(tx backend.Tx) (string, error) {
	for i := 0; ; i++ {
		ref := newRef()
		_, err := tx.Get(b.s.k.caseKey(ref))
		if errors.Is(err, backend.ErrNotFound) {
			return ref, nil
		}
		if err != nil {
			return "", dbErr("commit: new reference", err)
		}
		if i == 100 {
			return "", errors.New("no free case reference")
		}
	}
}

// Abort drops the batch and cuts its bytes from its pack slot. It is
// idempotent and does nothing after a successful [Batch.Commit].
func (b *Batch) Abort() {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	sw := b.open
	b.open = nil
	b.done = true
	items := b.items
	b.items = nil
	b.mu.Unlock()
	b.abortUploads(items)
	close(b.aborted) // a write waiting for a slot gives up (Abort gets here once: done)
	if sw != nil {
		sw.discard() // waits for a write in flight
	}
	b.mu.Lock()
	b.releaseSlot(false)
	b.mu.Unlock()
}

// discardLocked finishes the batch and cuts its bytes from its slot; b.mu
// is held and no writer is open.
func (b *Batch) discardLocked() {
	b.done = true
	b.abortUploads(b.items)
	b.items = nil
	b.deleteObjects()
	b.releaseSlot(false)
}

// packSmall appends the batch's small items, held in memory so far, to its
// pack slot, so that Badger holds only their records: the less Badger
// writes, the less its files' birth times depend on reports. A batch
// without a slot takes one if one is free, only to write them: it gives
// the slot back at once, keeping the bytes, and syncs the pack at its
// commit step, one fsync for all the batches of that step (b.small,
// [packs.sync]). If
// no slot is free its small items stay inline in Badger rather than wait
// behind large uploads, unless they would not fit in the commit's
// transaction ([Store.budget]): then it waits for a slot. Should the
// commit then fail, the kept bytes are ciphertext that nothing
// references. b.mu is held.
func (b *Batch) packSmall() error {
	if b.s.packs == nil {
		return nil // a shared store keeps small items in its records
	}
	small := false
	total := b.size // the commit's size, should the small items stay inline
	for _, p := range b.items {
		small = small || p.inline != nil
		total += inlineSize(p)
	}
	if !small {
		return nil
	}
	own := b.slot == nil
	if own {
		budget := b.s.budget()
		wait := budget > 0 && total > budget
		pk, err := b.s.packs.acquire(wait, b.aborted)
		if pk == nil {
			return err
		}
		b.slot, b.pos = pk, pk.end
	}
	for _, p := range b.items {
		if p.inline == nil {
			continue
		}
		n, err := b.slot.f.WriteAt(p.inline, b.pos)
		p.pack, p.off = b.slot.name, b.pos
		b.pos += int64(n)
		if err != nil {
			return err
		}
		p.inline = nil
	}
	if own {
		b.small, b.smallEnd = b.slot, b.pos
		b.releaseSlot(true)
	}
	return nil
}

// releaseSlot gives back the batch's slot, keeping its bytes or cutting
// them; b.mu is held.
func (b *Batch) releaseSlot(keep bool) {
	if b.slot == nil {
		return
	}
	if err := b.s.packs.release(b.slot, b.pos, keep); err != nil {
		b.s.log.Warn("vault: cut back a pack slot", "err", err)
	}
	b.slot = nil
	if b.large {
		b.large = false
		b.s.stream(false)
	}
}

// slotFor returns the batch's pack slot, taking one (and waiting for it
// while all are held) at the batch's first large item. It is called by the
// batch's open writer.
func (b *Batch) slotFor() (*pack, error) {
	b.mu.Lock()
	pk, done := b.slot, b.done
	b.mu.Unlock()
	switch {
	case done:
		return nil, errAborted
	case pk != nil:
		return pk, nil
	}
	pk, err := b.s.packs.acquire(true, b.aborted)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		b.s.packs.release(pk, pk.end, false)
		return nil, errAborted
	}
	b.slot, b.pos = pk, pk.end
	if b.s.stream != nil {
		b.large = true
		b.s.stream(true)
	}
	return pk, nil
}

// sealWriter is the writer [Batch.Add] returns.
type sealWriter struct {
	b     *Batch
	p     *pending
	age   io.WriteCloser
	plain *pipe // in front of age: seals in its own goroutine (nil: write to age)
	sp    *spill
	pipe  *pipe // between age and sp: hashes and writes in its own goroutine

	mu     sync.Mutex
	closed bool
	dead   bool // the batch was aborted
	err    error
}

func (w *sealWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.dead:
		return 0, errAborted
	case w.closed:
		return 0, errors.New("vault: write to closed item")
	case w.err != nil:
		return 0, w.err
	}
	var to io.Writer = w.age
	if w.plain != nil {
		to = w.plain
	}
	n, err := to.Write(p)
	if err != nil {
		w.err = fmt.Errorf("vault: seal %s: %w", w.p.kind, err)
		return n, w.err
	}
	return n, nil
}

// Close finishes sealing: age writes its last chunk here.
func (w *sealWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.dead {
		return errAborted
	}
	err := w.err
	if err == nil && w.plain != nil {
		if err = w.plain.Close(); err != nil {
			err = fmt.Errorf("vault: seal %s: %w", w.p.kind, err)
		}
	}
	if err == nil {
		if err = w.age.Close(); err != nil {
			err = fmt.Errorf("vault: seal %s: %w", w.p.kind, err)
		} else if err = w.pipe.Close(); err != nil {
			err = fmt.Errorf("vault: seal %s: %w", w.p.kind, err)
		}
	}
	// Nothing reaches the spill after this: the pipes' goroutines have
	// ended.
	w.stopPipes()
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == w {
		b.open = nil
	}
	if b.done {
		w.sp.discard()
		w.err = errAborted
		return w.err
	}
	if err != nil {
		w.sp.discard()
		w.err = err
		b.err = err
		return err
	}
	w.p.size = w.sp.n
	w.p.sum = hex.EncodeToString(w.pipe.h.Sum(nil))
	switch {
	case w.sp.up != nil:
		w.p.up = w.sp.up
	case w.sp.pk == nil:
		w.p.inline = w.sp.buf.Bytes()
	default:
		w.p.pack, w.p.off = w.sp.pk.name, w.sp.start
	}
	w.sp = nil
	b.items = append(b.items, w.p)
	return nil
}

// discard drops the item of an aborted batch.
func (w *sealWriter) discard() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dead = true
	w.stopPipes() // waits for a write to the slot in flight
	if w.sp != nil {
		w.sp.discard()
	}
}

// stopPipes ends the pipeline's goroutines, the sealing one first, since
// it writes into the other, waiting for what each has in flight.
func (w *sealWriter) stopPipes() {
	if w.plain != nil {
		w.plain.stop()
	}
	w.pipe.stop()
}

// spill holds ciphertext in memory up to inlineMax and beyond that appends
// it to its batch's pack slot (or the store's upload). It counts what it
// stores; the pipe in front of it hashes it.
type spill struct {
	b     *Batch
	buf   bytes.Buffer
	up    backend.Upload // in a shared store, the item's upload once it outgrew memory
	pk    *pack          // the batch's slot, once the item outgrew memory
	start int64          // where the item starts in pk
	wb    int64          // where the last writeback started
	n     int64
}

// A large item goes to its pack past the page cache, by direct I/O,
// straight from the buffers of the ciphertext's ring: the item starts on
// a directAlign boundary, what age wrote before the ring started and the
// ring's first buffer (cut short, see lead) bring the pack to the next
// boundary through the page cache, and from there every buffer but the
// last is a whole number of blocks at a block boundary. Writing a
// gigabyte into page-cache pages that nobody had used lately cost 3.5-3.9
// s on the development machine (a virtual machine whose host takes back
// free memory: every such page is a fault in the host), against 0.7 s by
// direct I/O, whatever the pages' history (docs/benchmarks.md, runs G, H
// and I). The ciphertext is not read back before the commit, and the
// pages of a report kept in the cache served nobody.
const directAlign = 4096

func (s *spill) Write(p []byte) (int, error) {
	if s.b.s.objects != nil {
		return s.writeObject(p)
	}
	if s.pk == nil && s.buf.Len()+len(p) <= inlineMax {
		s.buf.Write(p)
	} else {
		if err := s.claim(); err != nil {
			return 0, err
		}
		if err := s.append(p); err != nil {
			return 0, err
		}
	}
	s.n += int64(len(p))
	return len(p), nil
}

// claim takes the batch's pack slot for an item that outgrew memory,
// waiting while every slot is held, and moves what it held in memory
// there. It does nothing once the item has its slot.
func (s *spill) claim() error {
	if s.pk != nil || s.b.s.objects != nil {
		return nil // a shared store's item streams into an upload instead
	}
	pk, err := s.b.slotFor()
	if err != nil {
		return err
	}
	if pk.direct != nil {
		// The gap before the boundary is a hole that no extent covers.
		s.b.pos = (s.b.pos + directAlign - 1) &^ (directAlign - 1)
	}
	s.pk, s.start, s.wb = pk, s.b.pos, s.b.pos
	if err := s.append(s.buf.Bytes()); err != nil {
		return err
	}
	s.buf = bytes.Buffer{}
	return nil
}

// lead is how many bytes, written next, bring the item to a block
// boundary of its pack: the length of the ring's first buffer, so that
// every one after it goes by direct I/O. 0 where the slot takes no direct
// I/O.
func (s *spill) lead() int {
	if s.pk == nil || s.pk.direct == nil {
		return 0
	}
	return int(-s.b.pos & (directAlign - 1))
}

// append writes p at the end of what the batch wrote to its slot: the
// whole blocks of p by direct I/O when they start on a block boundary and
// the slot takes it, the rest through the page cache.
func (s *spill) append(p []byte) error {
	if blocks := len(p) &^ (directAlign - 1); blocks > 0 && s.pk.direct != nil && s.b.pos%directAlign == 0 {
		// EINVAL with nothing written is a refusal, not a failure
		// (memory off a block boundary, a file system without direct
		// I/O): the page cache takes all of p.
		if n, err := s.pk.direct.WriteAt(p[:blocks], s.b.pos); n > 0 || !errors.Is(err, syscall.EINVAL) {
			s.b.pos += int64(n)
			if err != nil {
				return spaceErr(err)
			}
			p = p[n:]
		}
	}
	if len(p) > 0 {
		n, err := s.pk.f.WriteAt(p, s.b.pos)
		s.b.pos += int64(n)
		if err != nil {
			return spaceErr(err)
		}
	}
	if s.b.pos-s.wb >= durable.WritebackEvery {
		// Over a range written by direct I/O this finds nothing to do.
		durable.StartWriteback(s.pk.f, s.wb, s.b.pos-s.wb)
		s.wb = s.b.pos
		// A long upload that crosses the free-space floor is cut.
		return s.b.s.room()
	}
	return nil
}

// discard drops what the spill holds in memory; the batch cuts what it
// wrote to its slot when it ends.
func (s *spill) discard() {
	s.buf = bytes.Buffer{}
	if s.up != nil {
		abortUpload(s.b.s, s.up)
		s.up = nil
	}
}
