package vault

import (
	"errors"
	"io"
	"sync"
)

// The write pipeline of a large item. Sealing (age's ChaCha20-Poly1305)
// runs in the goroutine that writes the plaintext, the one reading the
// upload; hashing the ciphertext (SHA-256) and writing it to the batch's
// pack slot run in a second goroutine, so that an upload uses both cores
// instead of one. Between them a small ring of large buffers: the sealing
// side fills one while the writing side hashes and writes the one before,
// and waits for a free one when the disk is slower than sealing, so
// memory stays at pipeDepth buffers per upload however large the file.
//
// An item that stays within inlineMax never starts the pipeline: its
// ciphertext goes straight to the spill's memory buffer, as before.
const (
	// pipeBufSize is the size of one buffer: large enough that one write
	// system call and one hash call carry a megabyte (age hands over its
	// ciphertext in 64 KiB chunks).
	pipeBufSize = 1 << 20
	// pipeDepth is the number of buffers of one item: one being filled,
	// one being hashed and written, one waiting between them.
	pipeDepth = 3
)

// pipeBufs keeps buffers between items, so that a stream of uploads does
// not allocate a ring each.
var pipeBufs = sync.Pool{New: func() any { b := make([]byte, 0, pipeBufSize); return &b }}

// errPipeStopped is what a write after stop returns.
var errPipeStopped = errors.New("vault: item writer stopped")

// pipe is the writer age seals into. It passes what fits in memory to its
// spill directly and, once the item outgrows inlineMax, hands full buffers
// to its writing goroutine, which writes them to the spill in order. The
// first error of either side fails the item: the sealing side sees it at
// its next Write or at Close, and nothing written after it reaches the
// spill. pipe's methods are called by one goroutine at a time (the item's
// sealWriter holds its lock).
type pipe struct {
	sp *spill
	w  io.Writer // what the writing goroutine writes to: sp, or a test's writer
	// claim takes the item's pack slot before the pipeline starts (nil in
	// tests of the pipe alone): waiting for a slot, and failing for want
	// of one, stay in the writer's goroutine, so that an upload is held
	// back, not buffered, while every slot is taken.
	claim func() error

	cur  *[]byte      // buffer being filled; nil before the pipeline starts
	full chan *[]byte // filled buffers, in order, to the writing goroutine
	free chan *[]byte // written buffers, back from it
	done chan struct{}

	mu  sync.Mutex
	err error // first error of the writing side

	running bool // the writing goroutine was started
	stopped bool // full is closed
}

func newPipe(sp *spill) *pipe { return &pipe{sp: sp, w: sp, claim: sp.claim} }

// werr is the writing side's error, if any.
func (p *pipe) werr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pipe) Write(b []byte) (int, error) {
	switch {
	case p.stopped:
		return 0, errPipeStopped
	case !p.running && p.sp.pk == nil && p.sp.buf.Len()+len(b) <= inlineMax:
		return p.w.Write(b) // small so far: memory only
	case !p.running:
		if p.claim != nil {
			if err := p.claim(); err != nil {
				return 0, err
			}
		}
		p.start()
	}
	if err := p.werr(); err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		buf := *p.cur
		k := copy(buf[len(buf):cap(buf)], b)
		*p.cur = buf[:len(buf)+k]
		n += k
		b = b[k:]
		if len(*p.cur) == cap(*p.cur) {
			if err := p.handOff(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// start takes the ring's buffers and starts the writing goroutine.
func (p *pipe) start() {
	p.running = true
	p.full = make(chan *[]byte, pipeDepth)
	p.free = make(chan *[]byte, pipeDepth)
	p.done = make(chan struct{})
	for range pipeDepth - 1 {
		p.free <- pipeBufs.Get().(*[]byte)
	}
	p.cur = pipeBufs.Get().(*[]byte)
	go p.run()
}

// handOff passes the filled buffer on and takes a free one, waiting while
// the writing side is behind.
func (p *pipe) handOff() error {
	p.full <- p.cur
	p.cur = <-p.free
	return p.werr()
}

// run is the writing goroutine: it hashes and writes each buffer in turn.
// After an error it only gives the buffers back, so that the sealing side
// never waits for a free one.
func (p *pipe) run() {
	defer close(p.done)
	for bp := range p.full {
		if p.werr() == nil {
			if _, err := p.w.Write(*bp); err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
		}
		*bp = (*bp)[:0]
		p.free <- bp
	}
}

// Close writes what is left in the current buffer, waits for the writing
// side to finish and returns the first error of either side. The spill
// then holds the whole ciphertext, or the item has failed.
func (p *pipe) Close() error {
	if p.stopped {
		return errPipeStopped
	}
	if !p.running {
		p.stopped = true
		return nil
	}
	if len(*p.cur) > 0 && p.werr() == nil {
		p.full <- p.cur
		p.cur = nil
	}
	p.stop()
	return p.werr()
}

// stop ends the writing goroutine, waiting for a write in flight, and
// gives the ring back. It is idempotent; after it nothing reaches the
// spill.
func (p *pipe) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	if !p.running {
		return
	}
	close(p.full)
	<-p.done
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
		pipeBufs.Put(p.cur)
		p.cur = nil
	}
	for range len(p.free) {
		pipeBufs.Put(<-p.free)
	}
}
