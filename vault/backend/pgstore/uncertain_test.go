package pgstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/servers"
)

// commitCutter stands between a client and PostgreSQL on 127.0.0.1. Once
// armed, it passes the next COMMIT on to the server, waits for the server
// to have done it, and closes the connection before the answer reaches
// the client: a network that failed at the worst moment.
type commitCutter struct {
	ln    net.Listener
	to    string
	armed atomic.Bool
	cut   atomic.Int32
	wg    sync.WaitGroup
}

func startCutter(t *testing.T, to string) *commitCutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &commitCutter{ln: ln, to: to}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.wg.Add(1)
			go c.serve(conn)
		}
	}()
	t.Cleanup(func() { ln.Close(); c.wg.Wait() })
	return c
}

// commitQuery is the simple-protocol Query message pgx sends to commit.
var commitQuery = append([]byte{'Q', 0, 0, 0, 11}, "commit\x00"...)

func (c *commitCutter) serve(client net.Conn) {
	defer c.wg.Done()
	defer client.Close()
	server, err := net.Dial("tcp", c.to)
	if err != nil {
		return
	}
	defer server.Close()
	go io.Copy(client, server) //nolint:errcheck // ends when either side closes
	// The startup message has no type byte; every later message does.
	head := make([]byte, 4)
	if _, err := io.ReadFull(client, head); err != nil {
		return
	}
	n := binary.BigEndian.Uint32(head)
	if n < 4 || n > 1<<16 {
		return
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(client, body); err != nil {
		return
	}
	if _, err := server.Write(append(head, body...)); err != nil {
		return
	}
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(client, head); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(head[1:])
		if n < 4 || n > 1<<26 {
			return
		}
		msg := make([]byte, 5+n-4)
		copy(msg, head)
		if _, err := io.ReadFull(client, msg[5:]); err != nil {
			return
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
		if bytes.EqualFold(msg, commitQuery) && c.armed.CompareAndSwap(true, false) {
			// Close the client's side first, so that the server's
			// answer cannot reach it, then give the server time to
			// commit: it finishes a commit it has read.
			c.cut.Add(1)
			client.Close()
			time.Sleep(200 * time.Millisecond)
			return
		}
	}
}

// TestPostgresCommitUncertain: a connection lost after COMMIT was sent
// is backend.ErrUncertain (the transaction may have landed: here it did),
// not a failure that promises nothing was written; a commit refused by
// the server, or a connection lost before the commit, is not uncertain.
func TestPostgresCommitUncertain(t *testing.T) {
	pg := servers.StartPostgres(t)
	direct := pg.NewDatabase(t)
	cut := startCutter(t, direct[strings.Index(direct, "@")+1:strings.LastIndex(direct, "/")])
	via := strings.Replace(direct, direct[strings.Index(direct, "@")+1:strings.LastIndex(direct, "/")], cut.ln.Addr().String(), 1)
	s := open(t, via)
	defer s.Close()

	cut.armed.Store(true)
	err := s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("k1"), []byte("v1")) })
	if !errors.Is(err, backend.ErrUncertain) {
		t.Fatalf("commit whose answer was lost: %v want backend.ErrUncertain", err)
	}
	if cut.cut.Load() != 1 {
		t.Fatalf("the cutter did not cut a commit: %v", err)
	}
	check := open(t, direct)
	defer check.Close()
	var v []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err = check.View(t.Context(), func(tx backend.Tx) (err error) { v, err = tx.Get([]byte("k1")); return err })
		if err == nil || !errors.Is(err, backend.ErrNotFound) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || string(v) != "v1" {
		t.Fatalf("the server committed what it was sent, but k1 = %q, %v", v, err)
	}

	// The pool goes on over new connections; a failure of the
	// transaction's own is certain.
	err = s.Update(t.Context(), func(tx backend.Tx) error {
		if err := tx.Put([]byte("k2"), []byte("v2")); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	if err == nil || errors.Is(err, backend.ErrUncertain) {
		t.Fatalf("a transaction that gave up: %v", err)
	}
	if err := s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("k3"), []byte("v3")) }); err != nil {
		t.Fatalf("after the cut: %v", err)
	}
}
