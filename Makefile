# cleandrop: a secure, anonymous whistleblower drop.
#   make run    start the drop with demo agencies (onion if tor is installed)
#   make test   install test dependencies, then vet and run every test with -race
#   make bench  run the benchmarks (see docs/benchmarks.md)
#   make load   200 simulated reporters for 2 minutes against a real server
#               on 127.0.0.1: zero errors, zero lost reports, latencies and
#               peak RSS (CLEANDROP_LOAD_REPORTERS, CLEANDROP_LOAD_DURATION);
#               make test runs a short version (20 reporters, 20 s)
#   make lint   gofmt, go vet, staticcheck and gosec (pinned; installed on first use)
#   make fuzz   every fuzz target for FUZZTIME each (default 30s); make test
#               runs each for FUZZTIME_SHORT (make fuzz-short)

GO    ?= go
DATA  ?= cleandrop-data
PKGS  := ./...

.PHONY: all build run deps test vet fmt-check lint lint-tools bench load fuzz fuzz-short fuzz-check clean

all: build

build:
	$(GO) build -trimpath -o bin/cleandrop ./cmd/cleandrop

# make run JURISDICTION=mn: the demo with a jurisdiction pack, in its own
# data directory (cleandrop-data-mn), with training cases.
run: build
ifeq ($(JURISDICTION),)
	./bin/cleandrop demo --data $(DATA)
else
	./bin/cleandrop demo --data $(DATA)-$(JURISDICTION) --jurisdiction $(JURISDICTION)
endif

# axe-core, the accessibility checker the browser test injects into every
# page (from npm, pinned; make deps fetches it once into AXE_DIR, outside
# the checkout, and make test tells the test where it is).
AXE_VERSION := 4.14.1
AXE_SHA256  := e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_DIR     ?= $(shell $(GO) env GOPATH)/axe-core-$(AXE_VERSION)

# SeaweedFS, the S3 store the distributed backend's tests start (Apache-2.0),
# built by make deps from the Go module proxy at this exact version into
# SEAWEEDFS_DIR, outside the checkout, once (several minutes); make test
# tells the tests where it is (CLEANDROP_WEED).
SEAWEEDFS_VERSION := v0.0.0-20261109003541-7506e5f91cd6
SEAWEEDFS_DIR     ?= $(shell $(GO) env GOPATH)/seaweedfs-$(SEAWEEDFS_VERSION)

deps:
	@AXE_VERSION=$(AXE_VERSION) AXE_SHA256=$(AXE_SHA256) AXE_DIR=$(AXE_DIR) \
	SEAWEEDFS_VERSION=$(SEAWEEDFS_VERSION) SEAWEEDFS_DIR=$(SEAWEEDFS_DIR) GO=$(GO) ./.ci/deps

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Tests keep screenshots and measurements in $CLEANDROP_ARTIFACTS, by default
# .ci/artifacts (git ignores it; make clean removes it). The measurements the
# tests take (floods, file times, memory) are printed after the run: go test
# shows a passing test's log only with -v. The run's whole output is kept in
# test.log there; a failing run ends with its failures and their messages
# (the first line of each), so the end of the output, which is what CI
# shows, names them.
test: deps fmt-check vet
	@art="$${CLEANDROP_ARTIFACTS:-$(CURDIR)/.ci/artifacts}"; mkdir -p "$$art"; rm -f "$$art/measurements.txt"; \
	echo "CLEANDROP_ARTIFACTS=$$art CLEANDROP_AXE=$(AXE_DIR)/axe.min.js CLEANDROP_WEED=$(SEAWEEDFS_DIR)/weed $(GO) test -race -count=1 -timeout 45m $(PKGS)"; \
	{ CLEANDROP_ARTIFACTS="$$art" CLEANDROP_AXE="$(AXE_DIR)/axe.min.js" CLEANDROP_WEED="$(SEAWEEDFS_DIR)/weed" $(GO) test -race -count=1 -timeout 45m $(PKGS) 2>&1; \
	  echo $$? > "$$art/test.rc"; } | tee "$$art/test.log"; rc=$$(cat "$$art/test.rc"); \
	if [ -s "$$art/measurements.txt" ]; then echo "measurements:"; sort "$$art/measurements.txt" | sed 's/^/  /'; fi; \
	if [ $$rc -ne 0 ]; then \
	  echo "failures (whole log in $$art/test.log):"; \
	  grep -E -e '^ *--- FAIL' -e '^ +[A-Za-z0-9_]+\.go:[0-9]+: ' -e '^(FAIL|panic:|fatal error:|WARNING: DATA RACE)' "$$art/test.log" | cut -c1-400 | tail -n 80; \
	  exit $$rc; fi; \
	$(MAKE) --no-print-directory fuzz-short

# Linters, pinned to exact versions (both build with Go 1.26) and installed
# from the Go module proxy on first use, one directory per version under
# LINTBIN: a later run, or a fresh clone on the same machine (CI), finds the
# pinned build there and installs nothing; a new pin installs anew.
STATICCHECK_VERSION := v0.8.2
GOSEC_VERSION       := v2.30.0
LINTBIN     ?= $(shell $(GO) env GOPATH)/lintbin
STATICCHECK := $(LINTBIN)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
GOSEC       := $(LINTBIN)/gosec-$(GOSEC_VERSION)/gosec

# gosec rules left out, and why:
#   G104  unchecked errors: go vet and staticcheck check the calls that
#         matter; what is left is best-effort cleanup on a path that already
#         failed (Close, Remove) and writes to a response the client reads.
#   G304  file path from a variable: paths come from the administrator's
#         configuration and command line or lie in our own data directory;
#         nothing a reporter or officer sends becomes a path (bundle entries
#         are opened through os.Root).
#   G204  subprocess from a variable: tor (configured by the administrator)
#         and, in test helpers, gpg, chromium and Firefox; exec.Command runs no shell.
#   G302  chmod above 0600: it flags 0700 on directories, which need the
#         search bit; files are 0600.
GOSEC_EXCLUDE := G104,G304,G204,G302
# Test-support packages, not linked into the binary: they drive tor, gpg,
# chromium, PostgreSQL and SeaweedFS for the tests and write their
# screenshots, build test files (striptest), or are the storage backends'
# conformance suite.
GOSEC_EXCLUDE_DIRS := -exclude-dir=testnet -exclude-dir=browsertest -exclude-dir=notifytest -exclude-dir=striptest -exclude-dir=servers -exclude-dir=backendtest
# Rules left out in one file each, and why:
#   totp.go      G505 SHA-1 is RFC 6238's TOTP hash, what authenticator
#                apps use; G115 the time step of a time after 1970 is >= 0.
#   accounts.go  G115 the hash length is that of our own stored verifier;
#                G117 client_key is the onion client-authorization public key.
#   batch.go     G404 math/rand only spreads retries of a conflicting commit.
#   txretry.go   G404 the same, for the storage backends' transactions.
#   officers.go  G703 the key file is the administrator's --key argument.
GOSEC_EXCLUDE_RULES := drop/desk/totp\.go:G505,G115;drop/desk/accounts\.go:G115,G117;vault/batch\.go:G404;vault/backend/internal/txretry/txretry\.go:G404;cmd/cleandrop/officers\.go:G703

$(STATICCHECK):
	GOBIN=$(@D) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOSEC):
	GOBIN=$(@D) $(GO) install github.com/securego/gosec/v2/cmd/gosec@$(GOSEC_VERSION)

lint-tools: $(STATICCHECK) $(GOSEC)

# gofmt, go vet, staticcheck (its default checks) and gosec over the whole
# repository; any finding fails.
lint: fmt-check vet fuzz-check lint-tools
	$(STATICCHECK) $(PKGS)
	$(GOSEC) -quiet -exclude=$(GOSEC_EXCLUDE) $(GOSEC_EXCLUDE_DIRS) -exclude-rules='$(GOSEC_EXCLUDE_RULES)' $(PKGS)

# bench: the benchmarks of docs/benchmarks.md. In ./cmd/cleandrop, issue 12's
# six, each a ratio against a baseline measured in the same run: a sealed
# 1 GiB upload against `age` and `gpg --encrypt` (with the server's peak
# RssAnon), small reports against the KDF limit, a follow-up login against
# one derivation, export against cat (CLEANDROP_BENCH_MIB: the large file);
# then the same four on PostgreSQL and SeaweedFS, where the baselines write
# to and read from the object store with s3cmd.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./vault/ ./drop/receipt/ ./cmd/cleandrop/
	CLEANDROP_TEST_STORE=postgres-s3 CLEANDROP_WEED="$(SEAWEEDFS_DIR)/weed" $(GO) test -run '^$$' -bench 'UploadVsAgeCLI|SmallReports|FollowupLogin|ExportVsCat' -benchtime 3x -timeout 30m ./cmd/cleandrop/
	CLEANDROP_WEED="$(SEAWEEDFS_DIR)/weed" $(GO) test -run '^$$' -bench . -benchtime 2s -timeout 30m ./vault/backend/
	CLEANDROP_WEED="$(SEAWEEDFS_DIR)/weed" $(GO) test -run '^$$' -bench S3Upload -benchtime 3x -timeout 30m ./vault/backend/s3blobs/

# The long load run (docs/benchmarks.md, "Load"): CLEANDROP_LOAD_REPORTERS
# simulated reporters, each on its own circuit, for CLEANDROP_LOAD_DURATION
# against the real server on 127.0.0.1, then every receipt shown logs in
# and its case must hold every item acknowledged. Without -race: the
# clients' speed is part of what is measured (the server is built without
# it either way). CLEANDROP_LOAD_ATTACH_MIB changes the 50 MiB attachments.
CLEANDROP_LOAD_REPORTERS ?= 200
CLEANDROP_LOAD_DURATION  ?= 2m
load:
	CLEANDROP_LOAD=1 CLEANDROP_LOAD_REPORTERS=$(CLEANDROP_LOAD_REPORTERS) CLEANDROP_LOAD_DURATION=$(CLEANDROP_LOAD_DURATION) \
	$(GO) test -count=1 -timeout 60m -run '^TestLoadZeroErrorsZeroLost$$' -v ./cmd/cleandrop/

# Every fuzz target of the repository (grep -rn 'func Fuzz' --include='*_test.go'),
# each anchored so that its name matches exactly one target in its package.
FUZZTIME ?= 30s
FUZZ := \
	./drop/guide:FuzzSuggest \
	./drop/receipt:FuzzNormalize \
	./drop/notify:FuzzParseKey \
	./vault/bundle:FuzzOpenBundle \
	./vault/bundle:FuzzReferralReader \
	./vault/signing:FuzzVerify \
	./vault/audit:FuzzVerify \
	./onion:FuzzClientKey \
	./drop/source:FuzzUpload \
	./drop/web:FuzzParseProxyLine \
	./drop/web:FuzzFormMatches \
	./drop/jurisdiction:FuzzLoad \
	./drop/source:FuzzDirectorySearch \
	./drop/exposure:FuzzCheck \
	./drop/strip:FuzzJPEG \
	./drop/strip:FuzzPNG \
	./drop/strip:FuzzOOXML \
	./drop/strip:FuzzPDF \
	./drop/web:FuzzLanguage \
	./drop/source:FuzzAnswer \
	./drop/source:FuzzDraft \
	./cmd/cleandrop:FuzzConfig \
	./cmd/cleandrop:FuzzParseRecipient \
	./vault:FuzzReceiveReferral \
	./vault:FuzzReadAgeHeader \
	./vault:FuzzParseRecipient \
	./vault/audit:FuzzCaseEntries \
	./cmd/cleandrop:FuzzBackupParts

# fuzz-check fails when FUZZ and the repository's fuzz targets differ.
fuzz-check:
	@want=$$(grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do \
	  grep -o '^func Fuzz[A-Za-z0-9_]*' "$$f" | sed "s|^func |$$(dirname "$$f"):|"; done | sort); \
	have=$$(printf '%s\n' $(FUZZ) | sort); \
	if [ "$$want" != "$$have" ]; then \
	  printf 'fuzz: the Makefile names:\n%s\nbut the fuzz targets are:\n%s\n' "$$have" "$$want"; exit 1; fi

# .ci/fuzz runs the targets one at a time (each go test -fuzz takes one) and
# prints each one's executions. A crash fails it and leaves its input in the
# package's testdata/fuzz/<Target>/, to be kept as a seed once fixed.
# FUZZMINIMIZE bounds the time spent shrinking an input that found new code
# (Go's default, 60s, can take a short run's whole budget).
FUZZMINIMIZE ?= 5s
fuzz: fuzz-check
	@GO=$(GO) ./.ci/fuzz $(FUZZTIME) $(FUZZMINIMIZE) $(FUZZ)

# fuzz-short runs every target briefly; make test runs it after the unit
# tests (which ran each target's seeds). 25 targets at 2s: 81s on the
# 2-core machine shared with other builds, 2026-12-02 (2s of fuzzing each;
# the rest is building, linking and replaying the seeds); 123s inside a
# make test while other helpers' tests ran.
FUZZTIME_SHORT ?= 2s
fuzz-short: fuzz-check
	@GO=$(GO) ./.ci/fuzz $(FUZZTIME_SHORT) 1s $(FUZZ)

clean:
	rm -rf bin .ci/artifacts
