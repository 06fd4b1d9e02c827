package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"cleandrop/drop/casework"
	"cleandrop/drop/control"
	"cleandrop/drop/desk"
	"cleandrop/drop/guide"
	"cleandrop/drop/receipt"
	"cleandrop/drop/source"
	"cleandrop/drop/strip"
	"cleandrop/drop/web"
	"cleandrop/onion"
	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/signing"
)

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration `FILE` (JSON)")
	noTor := fs.Bool("no-tor", false, "serve on the loopback address only, without Tor (testing)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErr(fs, stderr, "--config is required")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	return serve(cfg, serveOpts{noTor: *noTor, stdout: stdout, stderr: stderr})
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration `FILE` (JSON)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *cfgPath == "" {
		return usageErr(fs, stderr, "--config is required")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if cfg.Notify != nil {
		if _, err := cfg.Notify.password(); err != nil {
			return err
		}
	}
	for _, w := range cfg.warnings {
		fmt.Fprintf(stderr, "cleandrop: warning: %s\n", w)
	}
	if cfg.Store != nil {
		line, err := checkStore(cfg)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
	}
	backups := "no backup key (cleandrop backup is off)"
	if n := len(cfg.backup); n > 0 {
		backups = fmt.Sprintf("backups sealed to %d key(s)", n)
	}
	fmt.Fprintf(stdout, "%s: ok: %d agencies, jurisdiction %s, language %s, data in %s, %s\n", *cfgPath, len(cfg.agencies), cfg.pack.Code, cfg.Language, cfg.DataDir, backups)
	if ob := cfg.Onionbalance; ob != nil {
		// Read only: check writes nothing, so a key not made yet is said so.
		addrs, err := onion.Addresses(torConfig(cfg, nil).Dir)
		if err != nil {
			return err
		}
		inst := addrs.Source
		if inst == "" {
			inst = "not made yet ('cleandrop serve' makes it and prints it)"
		}
		fmt.Fprintf(stdout, "%s: reporter onion: Onionbalance instance of %s; this front-end's instance address: %s\n", *cfgPath, ob.Master, inst)
	}
	return nil
}

type serveOpts struct {
	noTor  bool
	demo   bool // Tor optional, loopback always served
	stdout io.Writer
	stderr io.Writer
}

// newLogger is the process's one logger. Records carry no time: the log
// must not date any reporter's visit.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func serve(cfg *Config, o serveOpts) error {
	logger := newLogger(o.stderr)
	for _, w := range cfg.warnings {
		logger.Warn(w)
	}
	if err := checkPrivateDir(cfg.DataDir); err != nil {
		return err
	}
	useTor := !o.noTor
	if useTor && !torInstalled(cfg.Tor) {
		if !o.demo {
			return hint(fmt.Errorf("tor (%s) is not installed", cfg.Tor),
				"install it (apt-get install tor), or pass --no-tor to test on the loopback address only")
		}
		useTor = false
	}

	vaultDir := filepath.Join(cfg.DataDir, "vault")
	pepper, err := loadPepper(cfg.PepperFile, vaultDir)
	if err != nil {
		return err
	}
	var agencies []vault.Agency
	var srcAgencies []source.Agency
	var deskAgencies []desk.Agency
	for _, a := range cfg.agencies {
		agencies = append(agencies, vault.Agency{ID: a.ID, Name: a.Name, Recipients: a.recipients, Custodian: a.custodian})
		srcAgencies = append(srcAgencies, a.source())
		deskAgencies = append(deskAgencies, desk.Agency{ID: a.ID, Name: a.Name, Recipients: a.Recipients})
	}
	store, err := openVault(context.Background(), cfg, vaultDir, vault.Options{
		Agencies: agencies, Logger: logger, Tick: cfg.tick,
		// Each interface streams at most max_uploads uploads at once, and
		// each holds one pack slot: enough slots for both never to wait.
		MaxUploads: 2 * cfg.MaxUploads,
		MinFree:    cfg.minFree(),
		PackStream: extraTurn(os.Getenv("GOMAXPROCS")),
	})
	if err != nil {
		return err
	}
	defer store.Close()

	cat, err := web.LoadCatalog()
	if err != nil {
		return err
	}
	auditLog, err := openAudit(cfg, store)
	if err != nil {
		var p *audit.Problem
		if errors.As(err, &p) && p.Hint != "" {
			return hint(err, p.Hint)
		}
		return err
	}
	defer auditLog.Close()
	// The audit log writes, and sets its file times, on the vault's ticks.
	store.OnTick(auditLog.Tick)
	signer, err := loadSigner(cfg.DataDir, logger)
	if err != nil {
		return err
	}
	// One bound on argon2 derivations for the whole process: receipts and
	// officer passwords alike cost 64 MiB each. It serves circuits in
	// turns and refuses a circuit's excess at once.
	derivations := web.NewFair(kdfSlots, source.DefaultKDFPerCircuit)
	// x/crypto/argon2 allocates its 64 MiB afresh at every call. Collected
	// before the slot passes on, the next derivation reuses it: 300
	// concurrent logins peaked at 160-200 MiB RssAnon instead of 400-460
	// MiB, at the same speed (docs/benchmarks.md). The memory limit then
	// paces the collector around the derivations (memory.go), unless
	// GOGC or GOMEMLIMIT says otherwise.
	switch {
	case os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "":
		m := startMemBudget(int64(receipt.DefaultParams.Memory)<<10, cfg.MemoryLimitMiB<<20)
		derivations.Before, derivations.After = m.enter, m.leave
	case os.Getenv("GOMEMLIMIT") == "":
		debug.SetMemoryLimit(cfg.MemoryLimitMiB << 20)
		fallthrough
	default:
		derivations.After = runtime.GC
	}
	accounts := desk.NewAccounts(store, time.Now, derivations)
	// With a shared store, sessions and sign-in budgets live in it, so
	// that any front-end serves any request; one machine keeps them in
	// memory.
	var shared web.Records
	if cfg.Store != nil {
		shared = store
	}
	deskH, err := desk.New(desk.Config{
		Shared: shared,
		Store:  store, Accounts: accounts, Audit: auditLog, Policy: cfg.policy,
		Catalog: cat, Language: cfg.Language, Logger: logger, MaxUpload: cfg.MaxUploadMiB << 20,
		BodyIdle: cfg.bodyIdle(), Uploads: web.NewUploads(cfg.MaxUploads, cfg.MaxUploadsPerCircuit),
		Agencies: deskAgencies, Sign: signer.Sign, SigningKey: signer.PublicKey(), SigningFingerprint: signer.Fingerprint(),
	})
	if err != nil {
		return err
	}
	off := &officers{acc: accounts, agencies: map[string]bool{}, audit: auditLog, log: logger, langs: cat.Languages()}
	for _, a := range cfg.agencies {
		off.agencies[a.ID] = true
	}
	if useTor {
		off.torDir = torConfig(cfg, logger).Dir
	}
	operator := ""
	if !useTor {
		operator = "operator.no_tor"
		logger.Warn("NOT BEHIND TOR: serving on loopback only; this is for testing, never for real reports")
	}
	// The report guide reads drafts in memory for the configured pack; the
	// guide and the identifying-detail check take turns across circuits
	// on at most one slot per core.
	gd, err := guide.New(cfg.pack)
	if err != nil {
		return fmt.Errorf("guide: %w", err)
	}
	src, err := source.New(source.Config{
		Shared:      shared,
		Store:       store,
		Agencies:    srcAgencies,
		Receipts:    cfg.format,
		Pepper:      pepper,
		KDF:         receipt.DefaultParams,
		MaxUpload:   cfg.MaxUploadMiB << 20,
		MaxFiles:    cfg.MaxFiles,
		BodyIdle:    cfg.bodyIdle(),
		Uploads:     web.NewUploads(cfg.MaxUploads, cfg.MaxUploadsPerCircuit),
		Catalog:     cat,
		Language:    cfg.Language,
		Logger:      logger,
		Operator:    operator,
		Policy:      cfg.policy,
		Pack:        cfg.pack,
		Derivations: derivations,
		Stats:       publicStats(cfg, store),
		Guide:       gd,
		Drafts:      web.NewFair(runtime.NumCPU(), source.DraftsPerCircuit),
		// PDF and OOXML files are spooled, sealed to a key held only in
		// memory, to unnamed files in the data directory, which keep to
		// the free-space floor (store.Room); they may inflate to twice
		// the upload bound.
		Strip: &strip.Cleaner{SpoolDir: cfg.DataDir, MaxInflate: 2 * (cfg.MaxUploadMiB << 20), Room: store.Room},
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if n := cfg.Notify; n != nil {
		via := n.viaTor(useTor)
		dig, err := newDigester(n, via, accounts, store, cfg.policy, cat, cfg.Language, logger)
		if err != nil {
			return err
		}
		off.dig = dig
		done := make(chan struct{})
		go func() {
			defer close(done)
			dig.scheduler(*n.Hour, n.loc).Loop(ctx)
		}()
		// Runs before store.Close: no digest reads a closed vault.
		defer func() { stop(); <-done }()
		logger.Info("digest scheduled", "hour", *n.Hour, "zone", n.loc.String(), "via_tor", via)
	}

	var srvs []*running
	defer func() {
		for _, s := range srvs {
			s.shutdown()
		}
	}()
	errc := make(chan error, 4)

	ctlPath := filepath.Join(cfg.DataDir, "control.sock")
	ctlLn, err := control.Listen(ctlPath)
	if err != nil {
		return err
	}
	// Connecting to the socket sets its access time: keep it on the
	// schedule too, a day past the tick, which relatime then leaves alone.
	store.OnTick(func(at time.Time) {
		if !at.IsZero() {
			os.Chtimes(ctlPath, at.Add(24*time.Hour), at)
		}
	})
	// The administrator's actions on cases go through the same operations
	// layer as the desk's, and are audited as "admin" on the path "control".
	ops, err := casework.New(casework.Config{Store: store, Audit: auditLog, Policy: cfg.policy, Sign: signer.Sign, Logger: logger})
	if err != nil {
		return err
	}
	bk := &backuper{sign: signer.Sign, cfg: cfg, store: store, audit: auditLog, log: logger}
	srvs = append(srvs, start("control", control.Handler(store, ops, auditLog, off, bk.write, logger), ctlLn, errc, logger))

	var ready []string
	if useTor && !o.demo {
		tor, err := startTor(ctx, cfg, off, logger)
		if err != nil {
			return err
		}
		defer tor.Close()
		srvs = append(srvs, start("source onion", src, web.CircuitListener(tor.Source, 0), errc, logger))
		if ob := cfg.Onionbalance; ob != nil {
			ready = append(ready, "reporter onion: http://"+ob.Master+"/ (Onionbalance master; this front-end is its instance "+tor.SourceAddr+")")
		} else {
			ready = append(ready, "reporter onion: http://"+tor.SourceAddr+"/")
		}
		if tor.Desk != nil {
			srvs = append(srvs, start("desk onion", deskH, web.CircuitListener(tor.Desk, 0), errc, logger))
			ready = append(ready, "officer onion: http://"+tor.DeskAddr+"/ (client authorization required)")
		}
	}
	if useTor && o.demo {
		// The demo answers on loopback at once and publishes in the
		// background: a machine without a network still gets a working demo.
		addrs, err := onion.Init(torConfig(cfg, logger).Dir)
		if err != nil {
			return err
		}
		ready = append(ready, "reporter onion: http://"+addrs.Source+"/ (publishing in the background)",
			"officer onion: http://"+addrs.Desk+"/ (client authorization; published once an officer has onion access)")
		torc := make(chan *onion.Service, 1)
		go func() {
			tor, err := startTor(ctx, cfg, off, logger)
			if err != nil {
				logger.Warn("onion not published; the loopback interface still works", "err", err)
				torc <- nil
				return
			}
			srv := start("source onion", src, web.CircuitListener(tor.Source, 0), errc, logger)
			var dsrv *running
			if tor.Desk != nil {
				dsrv = start("desk onion", deskH, web.CircuitListener(tor.Desk, 0), errc, logger)
			}
			logger.Info("reporter onion published")
			torc <- tor
			<-ctx.Done()
			srv.shutdown()
			if dsrv != nil {
				dsrv.shutdown()
			}
		}()
		defer func() {
			stop()
			if tor := <-torc; tor != nil {
				tor.Close()
			}
		}()
	}
	if !useTor || o.demo {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return hint(fmt.Errorf("listen on %s: %w", cfg.Listen, err), "choose another port with --listen 127.0.0.1:PORT")
		}
		if cfg.LoopbackProxyProtocol {
			ln = web.CircuitListener(ln, 0)
		}
		srvs = append(srvs, start("source loopback", src, ln, errc, logger))
		ready = append(ready, "reporter interface: http://"+ln.Addr().String()+"/")
		dln, err := net.Listen("tcp", cfg.DeskListen)
		if err != nil {
			return hint(fmt.Errorf("listen on %s: %w", cfg.DeskListen, err), "choose another port for the desk")
		}
		if cfg.LoopbackProxyProtocol {
			dln = web.CircuitListener(dln, 0)
		}
		srvs = append(srvs, start("desk loopback", deskH, dln, errc, logger))
		ready = append(ready, "officer desk: http://"+dln.Addr().String()+"/")
	}
	for _, line := range ready {
		fmt.Fprintf(o.stdout, "cleandrop: ready: %s\n", line)
	}
	logger.Info("serving", "agencies", len(agencies), "tor", useTor)

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return nil
	case err := <-errc:
		return err
	}
}

// extraTurn returns the hook that gives the runtime one P more than its
// default while a batch streams a large item into a pack slot
// ([vault.Options.PackStream]), or nil when the GOMAXPROCS variable (env)
// sets the number. A large item's
// direct writes and its commit's fsync are blocking system calls, and a
// goroutine in one keeps its P until the runtime takes it back: with one P
// per core, the upload's sealing and hashing meanwhile share one core.
// With one more, a 1 GiB upload ran 5-12% faster on two cores
// (docs/benchmarks.md, run I). At other times the extra P only costs:
// text-only reports, whose time is argon2 derivations on both cores, ran
// 4-19% faster without it (run R).
func extraTurn(env string) func(on bool) {
	if env != "" {
		return nil
	}
	return new(turns).packStream
}

// turns counts the batches streaming into pack slots.
type turns struct {
	mu        sync.Mutex
	streaming int
}

// packStream adds the P when the first batch starts streaming and, when
// the last one gives its slot back, returns to the runtime's default,
// which again follows the container's CPU limit.
func (t *turns) packStream(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		if t.streaming++; t.streaming == 1 {
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
		}
		return
	}
	if t.streaming--; t.streaming == 0 {
		runtime.SetDefaultGOMAXPROCS()
	}
}

// kdfSlots is how many argon2 derivations (64 MiB each) run at once in
// the process.
const kdfSlots = 2

// running is one http.Server on one listener.
type running struct {
	name string
	srv  *http.Server
}

func start(name string, h http.Handler, ln net.Listener, errc chan<- error, logger *slog.Logger) *running {
	srv := &http.Server{
		Handler:           recoverer(h, logger.With("component", name)),
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       5 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// The circuit of a connection from a web.CircuitListener (tor's
		// PROXY line): limits are kept per circuit.
		ConnContext: web.CircuitContext,
		// net/http's own log lines carry client addresses and panic values.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	// net/http's own error responses (431, 400, 505, ...) on the two web
	// interfaces get the security headers too; the guard is the outermost
	// listener.
	if name != "control" {
		ln = web.Guard(srv, ln)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s: %w", name, err)
		}
	}()
	return &running{name: name, srv: srv}
}

func (r *running) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		r.srv.Close()
	}
}

// recoverer turns a handler panic into a 500 without logging its value,
// which could hold request data.
func recoverer(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("handler panicked") // value deliberately dropped
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// loadPepper reads the instance pepper, making it on first run. It refuses
// to make a new one beside an existing vault: every receipt would stop
// working.
func loadPepper(path, vaultDir string) ([]byte, error) {
	b, err := readPrivate(path)
	if err == nil {
		if len(b) != receipt.PepperSize {
			return nil, fmt.Errorf("pepper file %s: want %d bytes, have %d", path, receipt.PepperSize, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pepper file: %w", err)
	}
	if ents, err := os.ReadDir(vaultDir); err == nil && len(ents) > 0 {
		return nil, hint(fmt.Errorf("pepper file %s is missing but the vault holds data", path),
			"restore the pepper from your backup; without it no receipt opens its case")
	}
	p := receipt.NewPepper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := writeNew(path, p); err != nil {
		return nil, err
	}
	return p, nil
}

// signingDir holds the instance's OpenPGP key for export manifests.
func signingDir(dataDir string) string { return filepath.Join(dataDir, "signing") }

// loadSigner reads the instance's manifest signing key, making it on first
// run, and logs its fingerprint (public) so officers can compare it.
func loadSigner(dataDir string, logger *slog.Logger) (*signing.Signer, error) {
	dir := signingDir(dataDir)
	s, created, err := signing.LoadOrCreate(dir, "cleandrop export signing key")
	switch {
	case errors.Is(err, signing.ErrInsecure):
		return nil, hint(err, "run: chmod 600 "+filepath.Join(dir, signing.SecretFile))
	case err != nil:
		return nil, hint(err, "restore "+dir+" from your backup: officers check exports against its public key")
	}
	if created {
		logger.Info("made the export signing key; publish "+filepath.Join(dir, signing.PublicFile)+" to officers", "fingerprint", s.Fingerprint())
	} else {
		logger.Info("export signing key", "fingerprint", s.Fingerprint())
	}
	return s, nil
}

// publicStats is the store for the public statistics page when the
// configuration turns it on, else nil (no page).
func publicStats(cfg *Config, store *vault.Store) source.Cases {
	if !cfg.PublicStats {
		return nil
	}
	return store
}
