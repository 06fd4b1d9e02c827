package vault

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrNotAge means an item offered as sealed is not a binary age file.
var ErrNotAge = errors.New("vault: not an age file")

const ageIntro = "age-encryption.org/v1\n"

// AddSealed stores an age file sealed elsewhere (an officer's reply sealed
// on the offline machine) as an item of kind, byte for byte. Only the
// header's shape is checked: the server cannot see to whom it is sealed,
// which is the point. sealedName, for attachments, is an age file too.
func (b *Batch) AddSealed(kind Kind, ciphertext io.Reader, sealedName []byte) error {
	if kind == KindIdentity {
		// An identity sealed elsewhere could be sealed to anyone: only the
		// vault seals identities, to the custodian.
		return errors.New("vault: an identity cannot be stored sealed elsewhere")
	}
	if sealedName != nil && kind != KindAttachment {
		return fmt.Errorf("vault: a %s item has no name", kind)
	}
	if sealedName != nil && !bytes.HasPrefix(sealedName, []byte(ageIntro)) {
		return fmt.Errorf("sealed name: %w", ErrNotAge)
	}
	br := bufio.NewReaderSize(ciphertext, 64<<10)
	hdr, err := readAgeHeader(br)
	if err != nil {
		return err
	}
	b.mu.Lock()
	switch {
	case b.done:
		b.mu.Unlock()
		return errFinished
	case b.open != nil:
		b.mu.Unlock()
		return ErrBusy
	case b.err != nil:
		b.mu.Unlock()
		return b.err
	case !kind.Valid():
		b.mu.Unlock()
		return fmt.Errorf("vault: unknown item kind %q", kind)
	case toReporter(kind) && b.reply == nil && b.refer == nil:
		b.mu.Unlock()
		return ErrNoReporter
	}
	p := &pending{kind: kind, name: sealedName}
	sp := &spill{b: b}
	pp := newPipe(sp)
	sw := &sealWriter{b: b, p: p, age: passThrough{pp}, sp: sp, pipe: pp}
	b.open = sw
	b.mu.Unlock()
	if _, err := sw.Write(hdr); err != nil {
		sw.Close()
		return err
	}
	if _, err := io.Copy(sw, br); err != nil {
		sw.mu.Lock()
		if sw.err == nil {
			sw.err = fmt.Errorf("vault: store sealed %s: %w", kind, err)
		}
		sw.mu.Unlock()
		sw.Close()
		return err
	}
	return sw.Close()
}

// readAgeHeader reads a binary age header up to and including its MAC line.
func readAgeHeader(r *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for len(hdr) < 64<<10 {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, bufio.ErrBufferFull) {
			return nil, ErrNotAge
		}
		if err != nil {
			return nil, err
		}
		if len(hdr) == 0 && string(line) != ageIntro {
			return nil, ErrNotAge
		}
		hdr = append(hdr, line...)
		if bytes.HasPrefix(line, []byte("--- ")) {
			return hdr, nil
		}
	}
	return nil, ErrNotAge
}

// passThrough stores bytes that are already sealed.
type passThrough struct{ w io.Writer }

func (p passThrough) Write(b []byte) (int, error) { return p.w.Write(b) }
func (passThrough) Close() error                  { return nil }
