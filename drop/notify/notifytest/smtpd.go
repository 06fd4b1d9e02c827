package notifytest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Server is a small but real RFC 5321 server on 127.0.0.1: EHLO/HELO,
// optional STARTTLS (or implicit TLS), AUTH PLAIN, MAIL, RCPT, DATA with
// dot-unstuffing that keeps CRLF, RSET, NOOP, QUIT.
type Server struct {
	ln       net.Listener
	tls      *tls.Config // offered via STARTTLS unless implicit
	implicit bool        // TLS from the first byte
	reject   map[string]bool

	mu   sync.Mutex
	mail []Message
	wg   sync.WaitGroup
}

// Message is one message the server accepted, with its envelope.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Auth string // "user:pass" when AUTH PLAIN was used
}

// StartServer starts a server on 127.0.0.1 and stops it when the test
// ends. With cfg it offers STARTTLS, or, if implicit, speaks TLS from the
// first byte. It answers 550 to RCPT for every address in reject.
func StartServer(t testing.TB, cfg *tls.Config, implicit bool, reject ...string) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, cfg)
	}
	s := &Server{ln: ln, tls: cfg, implicit: implicit, reject: map[string]bool{}}
	for _, r := range reject {
		s.reject[r] = true
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Addr is the server's address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Mail returns the messages accepted so far, in order.
func (s *Server) Mail() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.mail...)
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	isTLS := s.implicit
	tp := textproto.NewConn(c)
	reply := func(line string) { _ = tp.PrintfLine("%s", line) }
	reply("220 127.0.0.1 ESMTP cleandrop-test")
	var cur Message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-127.0.0.1", "250-8BITMIME"}
			if s.tls != nil && !isTLS {
				lines = append(lines, "250-STARTTLS")
			}
			lines = append(lines, "250-AUTH PLAIN", "250 HELP")
			reply(strings.Join(lines, "\r\n"))
		case "HELO":
			reply("250 127.0.0.1")
		case "STARTTLS":
			if s.tls == nil || isTLS {
				reply("502 5.5.1 not offered")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			tp = textproto.NewConn(c)
			cur = Message{}
		case "AUTH":
			mech, ir, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || ir == "" {
				reply("504 5.5.4 only AUTH PLAIN with initial response")
				continue
			}
			cur.Auth = decodePlain(ir)
			reply("235 2.7.0 ok")
		case "MAIL":
			cur.From = angle(arg)
			cur.To = nil
			reply("250 2.1.0 ok")
		case "RCPT":
			to := angle(arg)
			if s.reject[to] {
				reply("550 5.1.1 mailbox unavailable")
				continue
			}
			cur.To = append(cur.To, to)
			reply("250 2.1.5 ok")
		case "DATA":
			if cur.From == "" || len(cur.To) == 0 {
				reply("503 5.5.1 need MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			data, err := readData(tp.R)
			if err != nil {
				return
			}
			cur.Data, cur.TLS = data, isTLS
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			cur = Message{Auth: cur.Auth}
			reply("250 2.0.0 queued")
		case "RSET":
			cur = Message{Auth: cur.Auth}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("500 5.5.2 unknown command")
		}
	}
}

// readData reads a DATA body up to the lone "." line, undoing dot-stuffing
// (RFC 5321 4.5.2) and keeping the CRLF line ends byte for byte.
func readData(r *bufio.Reader) ([]byte, error) {
	var out bytes.Buffer
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if string(line) == ".\r\n" {
			return out.Bytes(), nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		out.Write(line)
	}
}

func angle(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, ' '); i >= 0 {
		a = a[:i] // drop parameters such as BODY=8BITMIME
	}
	return strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
}

// decodePlain turns an AUTH PLAIN initial response into "user:pass".
func decodePlain(ir string) string {
	b, err := base64.StdEncoding.DecodeString(ir)
	if err != nil {
		return "?"
	}
	f := strings.Split(string(b), "\x00")
	if len(f) != 3 {
		return "?"
	}
	return f[1] + ":" + f[2]
}
