# whiskfeed: build, test and run the local stack.
#   make demo   the main job: local stack up, feeds deployed, files uploaded, events shown
#   make test   every test (installs pouchdb-server and MinIO first)

GO      ?= go
# STACK_FLAGS and DEMO_FLAGS let a second stack run beside the default one
# (make test runs the demo that way).
STACK_FLAGS ?=
DEMO_FLAGS  ?=
ACTIONS := $(notdir $(wildcard actions/*))

.PHONY: all build deps test test-short lint bench up down demo clean

all: build

## build: compile every actions/<name> to a static linux/amd64 exec, zipped with exec.env in dist/
build:
	$(GO) run ./tools/pack -o dist $(addprefix ./actions/,$(ACTIONS))

## deps: install the local stack's servers (pouchdb-server from the lock file, MinIO built once)
deps:
	$(GO) run ./tools/stack install

## test: lint, every test with the race detector, then the demo on its own
## stack (free ports, state in .whiskfeed/test-demo) so that it runs in CI too
test: deps lint build
	$(GO) test -race -count=1 -timeout 40m ./...
	@$(MAKE) --no-print-directory demo STACK_FLAGS="-state $(CURDIR)/.whiskfeed/test-demo" \
	  DEMO_FLAGS="-env $(CURDIR)/.whiskfeed/test-demo/stack.env" \
	  WHISKFEED_WHISK_PORT=0 WHISKFEED_COUCHDB_PORT=0 WHISKFEED_S3_PORT=0 WHISKFEED_S3_CONSOLE_PORT=0

## test-short: unit tests only, no external servers
test-short:
	$(GO) test -short -count=1 ./...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files --others --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: measure every benchmark row against its target on the local stack; writes docs/benchmarks.md
bench:
	$(GO) run ./tools/bench

up:
	$(GO) run ./tools/stack $(STACK_FLAGS) up

down:
	$(GO) run ./tools/stack $(STACK_FLAGS) down

demo:
	@trap : INT TERM; \
	  $(MAKE) --no-print-directory up || { rc=$$?; $(MAKE) --no-print-directory down; exit $$rc; }; \
	  $(GO) run ./tools/demo $(DEMO_FLAGS); rc=$$?; \
	  $(MAKE) --no-print-directory down; exit $$rc

clean:
	rm -rf dist .whiskfeed
