package vault

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"sync"
)

// The write pipeline of a large item, in four goroutines, so that an
// upload keeps both cores busy: the one reading the upload (the
// connection, the form's parts) copies the plaintext into a ring of
// buffers (plainPipe); a second seals each in turn (age's
// ChaCha20-Poly1305) into another ring (newPipe); a third hashes each
// buffer of ciphertext (SHA-256) and hands it on to a fourth, which writes
// it to the batch's pack slot or the store's upload. Each side waits for a
// free buffer when the next is slower, so that memory stays at a few
// buffers of each ring per upload however large the file. Measured,
// hashing takes about as long as sealing, and writing half that
// (docs/benchmarks.md, run E).
//
// An item that stays within inlineMax never starts the pipeline: it is
// sealed in the writer's goroutine, and its ciphertext goes straight to
// the spill's memory buffer, as before.
const (
	// pipeBufSize is the size of one buffer of ciphertext: large enough
	// that one write system call and one hash call carry a megabyte (age
	// hands over its ciphertext in 64 KiB chunks).
	pipeBufSize = 1 << 20
	// plainBufSize is the size of one buffer of plaintext: eight of age's
	// 64 KiB chunks, so that handing it on, which wakes the sealing
	// goroutine on the other core, costs little against sealing it. A 1
	// GiB upload ran 4-5% faster than with 256 KiB in two interleaved
	// comparisons, 2% in the benchmark's own alternation (docs/benchmarks.md,
	// run I).
	plainBufSize = 512 << 10
	// plainDepth is the number of buffers of the plaintext ring: one
	// being filled, one being sealed, one waiting between them.
	plainDepth = 3
	// pipeDepth is the number of buffers of the ciphertext ring: one
	// being filled, one being hashed, one being written, one waiting.
	pipeDepth = 4
)

// pipeBufs and plainBufs keep buffers between items, so that a stream of
// uploads does not allocate rings for each.
var (
	pipeBufs  = sync.Pool{New: func() any { b := make([]byte, 0, pipeBufSize); return &b }}
	plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, plainBufSize); return &b }}
)

// errPipeStopped is what a write after stop returns.
var errPipeStopped = errors.New("vault: item writer stopped")

// pipe is a writer that, once what went through it outgrows inlineMax,
// copies what it is given into a ring of buffers and hands the full ones
// to a goroutine of its own, which writes them to w in order. Before
// that, writes go straight to w. The first error of either side fails the
// item: the writing side sees it at its next Write or at Close, and
// nothing written after it reaches w. pipe's methods are called by one
// goroutine at a time: the item's, under its sealWriter's lock, or, for
// the ciphertext's pipe once the plaintext's runs, the sealing goroutine.
type pipe struct {
	w io.Writer
	// claim takes the item's pack slot before the pipeline starts (nil
	// where there is none to take): waiting for a slot, and failing for
	// want of one, stay in the goroutine that writes into the pipe, so
	// that an upload is held back, not buffered, while every slot is
	// taken.
	claim func() error
	// lead, when not nil, says once the slot is claimed how many bytes
	// the first buffer is to carry (0: a whole buffer), so that the
	// buffers after it start on a block boundary of the pack (see
	// spill.lead).
	lead  func() int
	first int // where the current buffer is handed on, when not at its end
	bufs  *sync.Pool
	depth int
	// secret: the buffers hold plaintext, cleared before they go back.
	secret bool
	// h, when not nil, hashes everything that reaches w, in order: once
	// the pipeline runs, in a goroutine of its own between this side and
	// the writing one.
	h hash.Hash
	n int // bytes written straight to w

	cur  *[]byte      // buffer being filled; nil before the pipeline starts
	full chan *[]byte // filled buffers, in order, to the writing goroutine
	free chan *[]byte // written buffers, back from it
	done chan struct{}

	mu  sync.Mutex
	err error // first error of the writing side

	running bool // the writing goroutine was started
	stopped bool // full is closed
}

// newPipe is the pipe age seals into, in front of the spill: it hashes
// and writes the ciphertext in goroutines of its own.
func newPipe(sp *spill) *pipe {
	return &pipe{w: sp, claim: sp.claim, lead: sp.lead, bufs: &pipeBufs, depth: pipeDepth, h: sha256.New()}
}

// plainPipe is the pipe an item's plaintext goes into, in front of age
// (w): it seals in its own goroutine. claim is the spill's: the item takes
// its pack slot before any of its plaintext is buffered, so that an
// upload waiting for a slot is held back at its first large write.
func plainPipe(w io.Writer, claim func() error) *pipe {
	return &pipe{w: w, claim: claim, bufs: &plainBufs, depth: plainDepth, secret: true}
}

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
	case !p.running && p.n+len(b) <= inlineMax:
		n, err := p.w.Write(b) // small so far: in this goroutine
		if p.h != nil {
			p.h.Write(b[:n])
		}
		p.n += n
		return n, err
	case !p.running:
		if p.claim != nil {
			if err := p.claim(); err != nil {
				return 0, err
			}
		}
		if p.lead != nil {
			p.first = p.lead()
		}
		p.start()
	}
	if err := p.werr(); err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		buf := *p.cur
		end := cap(buf)
		if p.first > 0 {
			end = p.first
		}
		k := copy(buf[len(buf):end], b)
		*p.cur = buf[:len(buf)+k]
		n += k
		b = b[k:]
		if len(*p.cur) == end {
			p.first = 0
			if err := p.handOff(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// start takes the ring's buffers and starts the writing goroutine, and
// the hashing one before it.
func (p *pipe) start() {
	p.running = true
	p.full = make(chan *[]byte, p.depth)
	p.free = make(chan *[]byte, p.depth)
	p.done = make(chan struct{})
	for range p.depth - 1 {
		p.free <- p.bufs.Get().(*[]byte)
	}
	p.cur = p.bufs.Get().(*[]byte)
	if p.h == nil {
		go p.run(p.full)
		return
	}
	hashed := make(chan *[]byte, p.depth)
	go p.hash(hashed)
	go p.run(hashed)
}

// hash is the hashing goroutine: it hashes each buffer in turn and hands
// it on to the writing one. After an error it only hands them on.
func (p *pipe) hash(out chan<- *[]byte) {
	defer close(out)
	for bp := range p.full {
		if p.werr() == nil {
			p.h.Write(*bp)
		}
		out <- bp
	}
}

// handOff passes the filled buffer on and takes a free one, waiting while
// the writing side is behind.
func (p *pipe) handOff() error {
	p.full <- p.cur
	p.cur = <-p.free
	return p.werr()
}

// run is the writing goroutine: it writes each buffer to w in turn.
// After an error it only gives the buffers back, so that the side writing
// into the pipe never waits for a free one.
func (p *pipe) run(in <-chan *[]byte) {
	defer close(p.done)
	for bp := range in {
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
// side to finish and returns the first error of either side. w then holds
// everything written, or the item has failed.
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
// gives the ring back. It is idempotent; after it nothing reaches w.
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
		p.put(p.cur)
		p.cur = nil
	}
	for range len(p.free) {
		p.put(<-p.free)
	}
}

// put gives a buffer back to the pool, cleared if it held plaintext.
func (p *pipe) put(bp *[]byte) {
	if p.secret {
		clear((*bp)[:cap(*bp)])
	}
	*bp = (*bp)[:0]
	p.bufs.Put(bp)
}
