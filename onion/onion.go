package onion

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/tor"
)

// DefaultPublishTimeout bounds the wait for the descriptors when
// Config.PublishTimeout is zero.
const DefaultPublishTimeout = 3 * time.Minute

// ErrDeskOff is returned by [Service.SetClients] when the officer onion was
// not published at start (no client was authorized then): restart to publish it.
var ErrDeskOff = errors.New("officer onion not published at start: restart to publish it")

// Config says how to run tor.
type Config struct {
	Dir            string        // state: tor's data, the onion keys, the sockets; made 0700
	Tor            string        // tor binary; default "tor" from PATH, else /usr/sbin/tor
	Clients        []ClientKey   // officers authorized on the officer onion; none: it is not published
	ExtraTorrc     []string      // extra torrc lines, e.g. a test network's DirAuthority lines
	PublishTimeout time.Duration // wait for the descriptors; default DefaultPublishTimeout
	// OnionbalanceMaster, a v3 onion address, runs the source onion as an
	// Onionbalance instance of that master: tor accepts introductions made
	// to the master's address (and only those), so reporters reach this
	// front-end through the descriptor the Onionbalance process publishes
	// for the master. The officer onion is not affected.
	OnionbalanceMaster string
	// Offline keeps tor off the network (DisableNetwork 1): the onions are
	// made from their keys and served locally but never published, and
	// Start does not wait. For checks and tests.
	Offline bool
	Logger  *slog.Logger // component logs only; nil discards
}

// Service is a running tor publishing the onions. Run one http.Server on
// each listener.
type Service struct {
	Source     net.Listener // the whistleblowers' onion
	SourceAddr string       // "<56 chars>.onion"
	Desk       net.Listener // the officers' onion; nil when no client was authorized at start
	DeskAddr   string       // "" when Desk is nil

	cfg     Config
	l       layout
	log     *slog.Logger
	t       *tor.Tor
	proc    *torProcess
	lock    *os.File
	exe     string
	clients []ClientKey // as last written, sorted by name

	mu     sync.Mutex // serializes SetClients and Close
	closed bool
}

// Available reports whether the tor binary (default "tor") can be found.
func Available(torPath string) bool {
	_, err := torBinary(torPath)
	return err == nil
}

func torBinary(p string) (string, error) {
	if p != "" {
		return exec.LookPath(p)
	}
	if path, err := exec.LookPath("tor"); err == nil {
		return path, nil
	}
	for _, p := range []string{"/usr/sbin/tor", "/usr/bin/tor"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("tor not found: install it (apt install tor) or set its path")
}

// Start runs tor on cfg.Dir and publishes the source onion and, if
// cfg.Clients is not empty, the officer onion with v3 client authorization.
// Both have the proof-of-work DoS defence on. Unless cfg.Offline, Start
// returns once each descriptor was uploaded to at least one directory, or
// fails when ctx or cfg.PublishTimeout ends first. On error nothing is left
// running.
func Start(ctx context.Context, cfg Config) (_ *Service, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "onion")
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	exe, err := torBinary(cfg.Tor)
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, errors.New("onion: no Dir")
	}
	clients := slices.Clone(cfg.Clients)
	if err := checkClients(clients); err != nil {
		return nil, err
	}
	if cfg.OnionbalanceMaster != "" {
		if cfg.OnionbalanceMaster, err = CheckAddress(cfg.OnionbalanceMaster); err != nil {
			return nil, fmt.Errorf("onionbalance master: %w", err)
		}
	}
	slices.SortFunc(clients, func(a, b ClientKey) int { return strings.Compare(a.Name, b.Name) })
	l, err := newLayout(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := makeDir(l.dir); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, l: l, log: log, clients: clients}
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()
	if s.lock, err = lockDir(filepath.Join(l.dir, "lock")); err != nil {
		return nil, err
	}
	addrs, err := Init(l.dir)
	if err != nil {
		return nil, err
	}
	s.SourceAddr = addrs.Source
	if cfg.OnionbalanceMaster == addrs.Source || cfg.OnionbalanceMaster == addrs.Desk {
		return nil, errors.New("onionbalance master: the master address is one of this front-end's own onions; give each its own key")
	}
	if err := s.prepare(); err != nil {
		return nil, err
	}
	if s.Source, err = listenUnix(l.sourceSock); err != nil {
		return nil, err
	}
	if len(clients) > 0 {
		s.DeskAddr = addrs.Desk
		if s.Desk, err = listenUnix(l.deskSock); err != nil {
			return nil, err
		}
	}

	if s.Desk == nil {
		log.Warn("officer onion not published: no officer is authorized")
	}
	s.exe = exe
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts tor on the prepared Dir and, unless offline, waits until
// every published onion's descriptor is uploaded.
func (s *Service) launch(ctx context.Context) error {
	start := time.Now()
	// Offline in the file until we listen for descriptor events.
	if err := s.writeTorrc(false); err != nil {
		return err
	}
	var err error
	s.t, err = tor.Start(context.Background(), &tor.StartConf{
		ProcessCreator:  creator{exe: s.exe, logPath: s.l.log},
		DataDir:         s.l.data,
		TorrcFile:       s.l.torrc,
		EnableNetwork:   true, // the torrc says DisableNetwork; see layout.render
		NoAutoSocksPort: true,
		NoHush:          true,
		ExtraArgs:       []string{"--__OwningControllerProcess", strconv.Itoa(os.Getpid())},
	})
	if s.t != nil {
		s.proc, _ = s.t.Process.(*torProcess)
	}
	if err != nil {
		return fmt.Errorf("start tor (log in %s): %w", s.l.log, err)
	}
	// Tor exits when this control connection closes, also if we are killed.
	if err := s.t.Control.TakeOwnership(); err != nil {
		return fmt.Errorf("take ownership of tor: %w", err)
	}
	removeControlPortFiles(s.l.data)
	if err := s.checkHostnames(); err != nil {
		return err
	}
	s.log.Info("tor started", "officer_onion", s.deskOn(), "offline", s.cfg.Offline, "seconds", time.Since(start).Seconds())
	if s.cfg.Offline {
		return nil
	}
	wait := map[string]string{onionID(s.SourceAddr): "source onion"}
	if s.deskOn() {
		wait[onionID(s.DeskAddr)] = "officer onion"
	}
	err = s.waitUploaded(ctx, wait, func() error {
		// The file first, so a later reload keeps the network on.
		if err := s.writeTorrc(true); err != nil {
			return err
		}
		return s.t.Control.SetConf(control.KeyVals("DisableNetwork", "0")...)
	})
	if err != nil {
		return err
	}
	s.log.Info("onions published", "count", len(wait), "seconds", time.Since(start).Seconds())
	return nil
}

// deskOn reports whether the officer onion is in tor's configuration.
func (s *Service) deskOn() bool { return s.Desk != nil && len(s.clients) > 0 }

// prepare writes the onion keys, the authorized clients and the torrc.
func (s *Service) prepare() error {
	l := s.l
	if err := os.MkdirAll(l.data, 0o700); err != nil {
		return fmt.Errorf("tor data dir: %w", err)
	}
	if err := os.Chmod(l.data, 0o700); err != nil {
		return fmt.Errorf("tor data dir: %w", err)
	}
	if err := os.Chmod(filepath.Dir(l.sourceHS), 0o700); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("onion service dir: %w", err)
	}
	for _, k := range []struct{ file, hs string }{{sourceKeyFile, l.sourceHS}, {deskKeyFile, l.deskHS}} {
		seed, err := readSeed(filepath.Join(l.dir, k.file))
		if err != nil {
			return err
		}
		if err := writeHS(k.hs, seed); err != nil {
			return err
		}
	}
	if err := writeOBConfig(l.sourceHS, s.cfg.OnionbalanceMaster); err != nil {
		return err
	}
	// Torrc before clients: with no clients the officer onion must be out of
	// the torrc before its authorized_clients empties.
	if err := s.writeTorrc(false); err != nil {
		return err
	}
	if err := writeClients(l.deskHS, s.clients); err != nil {
		return err
	}
	// Keep the previous run's tor log, drop the one before.
	if err := os.Rename(l.log, l.log+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotate tor log: %w", err)
	}
	return nil
}

func (s *Service) writeTorrc(network bool) error {
	b, err := s.l.render(torrcConfig{
		network: network && !s.cfg.Offline,
		desk:    len(s.clients) > 0, // never set while Desk is nil
		ob:      s.cfg.OnionbalanceMaster != "",
		extra:   s.cfg.ExtraTorrc,
	})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.l.torrc, b); err != nil {
		return fmt.Errorf("write torrc: %w", err)
	}
	return nil
}

// checkHostnames makes sure tor derived the addresses we computed from our
// seeds (it writes "hostname" when it loads the keys).
func (s *Service) checkHostnames() error {
	check := map[string]string{s.l.sourceHS: s.SourceAddr}
	if s.deskOn() {
		check[s.l.deskHS] = s.DeskAddr
	}
	deadline := time.Now().Add(5 * time.Second)
	for dir, want := range check {
		for {
			b, err := os.ReadFile(filepath.Join(dir, "hostname"))
			if err == nil && strings.TrimSpace(string(b)) == want {
				break
			}
			if err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
				return fmt.Errorf("tor derived another address than our key gives for %s", filepath.Base(dir))
			}
			if time.Now().After(deadline) || s.proc != nil && s.proc.exited() {
				return fmt.Errorf("tor did not load the %s onion key (log in %s)", filepath.Base(dir), s.l.log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// errRejected says every directory refused a new descriptor: tor gives a
// descriptor the revision counter of the second it was built in, so one
// rebuilt within the second of the last upload is refused as not newer.
var errRejected = errors.New("descriptor refused by every directory")

// waitUploaded runs trigger and waits until a descriptor tor starts to
// upload after it is accepted by a directory, for every onion id in want
// (id -> role name for errors). Uploads already under way when trigger ran
// do not count.
func (s *Service) waitUploaded(ctx context.Context, want map[string]string, trigger func() error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	c := s.t.Control
	// bine relays events with a blocking send while it holds the read lock:
	// keep the buffer large and drain it until unsubscribed.
	ch := make(chan control.Event, 256)
	if err := c.AddEventListener(ch, control.EventCodeHSDesc); err != nil {
		return fmt.Errorf("subscribe to descriptor events: %w", err)
	}
	evCtx, evCancel := context.WithCancel(ctx)
	defer func() {
		evCancel()
		drained := make(chan struct{})
		go func() {
			for {
				select {
				case <-ch:
				case <-drained:
					return
				}
			}
		}()
		c.RemoveEventListener(ch, control.EventCodeHSDesc)
		close(drained)
	}()
	// Events that arrived before trigger returned belong to earlier uploads.
	if err := trigger(); err != nil {
		return err
	}
	for len(ch) > 0 {
		<-ch
	}
	errCh := make(chan error, 1)
	go func() { errCh <- c.HandleEvents(evCtx) }()

	type upload struct{ started, done, rejected int }
	pending := maps.Clone(want)
	uploads := map[string]*upload{}          // onion id -> counts
	inFlight := map[string]map[string]bool{} // onion id -> HSDirs of uploads started after trigger
	failures := map[string]string{}
	for len(pending) > 0 {
		select {
		case ev := <-ch:
			hs, ok := ev.(*control.HSDescEvent)
			if !ok {
				continue
			}
			role, ok := pending[hs.Address]
			if !ok {
				continue
			}
			u := uploads[hs.Address]
			if u == nil {
				u = &upload{}
				uploads[hs.Address] = u
				inFlight[hs.Address] = map[string]bool{}
			}
			switch hs.Action {
			case "UPLOAD":
				u.started++
				inFlight[hs.Address][hs.HSDir] = true
			case "UPLOADED":
				if inFlight[hs.Address][hs.HSDir] {
					delete(pending, hs.Address)
					s.log.Info("descriptor uploaded", "onion", role)
				}
			case "FAILED":
				if !inFlight[hs.Address][hs.HSDir] {
					continue
				}
				delete(inFlight[hs.Address], hs.HSDir)
				failures[hs.Address] = hs.Reason
				u.done++
				if hs.Reason == "UPLOAD_REJECTED" {
					u.rejected++
				}
				if u.rejected > 0 && u.done == u.started {
					return fmt.Errorf("%s: %w", role, errRejected)
				}
			}
		case err := <-errCh:
			if ctx.Err() == nil {
				return fmt.Errorf("tor control connection: %w", err)
			}
		case <-s.proc.done:
			return fmt.Errorf("tor exited while publishing (log in %s)", s.l.log)
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			var msgs []string
			for id, role := range pending {
				m := role
				if r := failures[id]; r != "" {
					m += " (last upload failure: " + r + ")"
				}
				msgs = append(msgs, m)
			}
			slices.Sort(msgs)
			return fmt.Errorf("%s not published within %v: %w (tor log in %s)",
				strings.Join(msgs, ", "), s.cfg.PublishTimeout, ctx.Err(), s.l.log)
		}
	}
	return nil
}

// SetClients replaces the officers authorized on the officer onion. Unless
// the service is offline it returns once the new descriptor is published
// (bounded by ctx and Config.PublishTimeout).
//
// Adding officers reloads tor. Revoking one restarts tor: tor keeps its
// introduction points when only client authorization changes, so an officer
// whose tor still holds the old descriptor could keep connecting; a new tor
// has new introduction points and the old descriptor leads nowhere. Open
// connections on both onions drop during the restart (a few seconds). An
// empty list takes the officer onion off the network rather than
// publishing it open; the Desk listener stays. If no client was authorized
// at start it returns [ErrDeskOff].
func (s *Service) SetClients(ctx context.Context, clients []ClientKey) error {
	clients = slices.Clone(clients)
	if err := checkClients(clients); err != nil {
		return err
	}
	slices.SortFunc(clients, func(a, b ClientKey) int { return strings.Compare(a.Name, b.Name) })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("onion: service closed")
	}
	if s.t == nil {
		return errors.New("onion: tor is not running after a failed restart: restart the service")
	}
	if s.Desk == nil {
		if len(clients) == 0 {
			return nil
		}
		return ErrDeskOff
	}
	if slices.Equal(clients, s.clients) {
		return nil
	}
	revoked := false
	for _, old := range s.clients {
		revoked = revoked || !slices.Contains(clients, old)
	}
	s.clients = clients
	if len(clients) == 0 {
		// Out of the torrc first, then empty the clients: tor must never
		// see the officer onion with no client.
		if err := s.writeTorrc(!s.cfg.Offline); err != nil {
			return err
		}
		if err := writeClients(s.l.deskHS, nil); err != nil {
			return err
		}
	} else {
		if err := writeClients(s.l.deskHS, clients); err != nil {
			return err
		}
		if err := s.writeTorrc(!s.cfg.Offline); err != nil {
			return err
		}
	}
	defer s.log.Info("officer clients changed", "count", len(clients), "revoked", revoked)
	reload := func() error {
		if err := s.t.Control.Signal("RELOAD"); err != nil {
			return fmt.Errorf("reload tor: %w", err)
		}
		return nil
	}
	switch {
	case s.cfg.Offline || len(clients) == 0:
		// Without the officer onion tor closes its introduction points.
		return reload()
	case revoked:
		return s.restart(ctx)
	}
	err := s.waitUploaded(ctx, map[string]string{onionID(s.DeskAddr): "officer onion"}, reload)
	if errors.Is(err, errRejected) {
		s.log.Warn("new descriptor refused as not newer; restarting tor")
		return s.restart(ctx)
	}
	return err
}

// restart stops tor and launches it again on the same Dir.
func (s *Service) restart(ctx context.Context) error {
	if err := s.stopTor(); err != nil {
		return err
	}
	if err := s.launch(ctx); err != nil {
		s.stopTor()
		return fmt.Errorf("restart tor: %w", err)
	}
	return nil
}

// Close stops tor, waits for it to exit and closes the listeners.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.shutdown()
}

func (s *Service) shutdown() error {
	err := s.stopTor()
	for _, ln := range []net.Listener{s.Source, s.Desk} {
		if ln != nil {
			ln.Close() // may already be closed by http.Server.Shutdown
		}
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// stopTor halts tor and waits until it has exited.
func (s *Service) stopTor() error {
	var err error
	if s.t != nil {
		// bine's Close waits only 300 ms for the process, and when tor is
		// slower its waiting goroutine races with its own clean-up (seen
		// with -race on a loaded machine). Halt tor and wait for it here
		// first; then Close finds it gone.
		if s.proc != nil && s.t.Control != nil {
			if s.t.Control.Signal("HALT") == nil {
				select {
				case <-s.proc.done:
				case <-time.After(10 * time.Second):
				}
			}
		}
		// Close the owning connection and clean up.
		s.t.Close()
		s.t = nil
	}
	if s.proc != nil {
		select {
		case <-s.proc.done:
		case <-time.After(10 * time.Second):
			s.proc.signal(syscall.SIGKILL)
			<-s.proc.done
			err = errors.New("tor did not stop in 10s: killed")
		}
		s.proc = nil
	}
	return err
}

func onionID(addr string) string { return strings.TrimSuffix(addr, ".onion") }

// listenUnix listens on a fresh unix socket at path, readable only by us.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen: %s exists and is not a socket", filepath.Base(path))
		}
		os.Remove(path) // stale: the Dir lock says no one else serves it
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// removeControlPortFiles deletes the control-port-* files bine leaves in
// the data directory at every start.
func removeControlPortFiles(dataDir string) {
	m, _ := filepath.Glob(filepath.Join(dataDir, "control-port-*"))
	for _, f := range m {
		os.Remove(f)
	}
}
