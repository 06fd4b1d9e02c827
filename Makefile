# cleandrop: a secure, anonymous whistleblower drop.
#   make run    start the drop with demo agencies (onion if tor is installed)
#   make test   install test dependencies, then vet and run every test with -race
#   make bench  run the benchmarks (see docs/benchmarks.md)

GO    ?= go
DATA  ?= cleandrop-data
PKGS  := ./...

.PHONY: all build run deps test vet fmt-check bench fuzz clean

all: build

build:
	$(GO) build -trimpath -o bin/cleandrop ./cmd/cleandrop

run: build
	./bin/cleandrop demo --data $(DATA)

deps:
	@./.ci/deps

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Tests keep screenshots and measurements in $CLEANDROP_ARTIFACTS, by default
# .ci/artifacts (git ignores it; make clean removes it).
test: deps fmt-check vet
	CLEANDROP_ARTIFACTS="$${CLEANDROP_ARTIFACTS:-$(CURDIR)/.ci/artifacts}" $(GO) test -race -count=1 -timeout 20m $(PKGS)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./vault/ ./drop/receipt/ ./cmd/cleandrop/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzNormalize -fuzztime 30s ./drop/receipt/
	$(GO) test -run '^$$' -fuzz FuzzOpenBundle -fuzztime 30s ./vault/
	$(GO) test -run '^$$' -fuzz FuzzConfig -fuzztime 30s ./cmd/cleandrop/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./vault/signing/

clean:
	rm -rf bin .ci/artifacts
