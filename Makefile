# Thin wrappers over npm scripts. Every target installs what is missing first, keyed on the
# lock file, so a fresh clone needs nothing but Node 20 and npm.
.DEFAULT_GOAL := help
SHELL := /bin/bash
STAMP := node_modules/.install-stamp
BIN := node_modules/.bin
# buf finds the protoc-gen-es plugin on PATH, as npm scripts would.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help install generate lint build test bench run clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $(STAMP)

install: $(STAMP) ## Install dependencies (npm ci) when the lock file changed

generate: $(STAMP) ## Regenerate gen/ from proto/ with buf and protoc-gen-es
	$(BIN)/buf generate

lint: $(STAMP) ## buf lint, buf breaking against contract/image.binpb, Biome, tsc --noEmit
	$(BIN)/buf lint
	$(BIN)/buf breaking --against contract/image.binpb
	$(BIN)/biome check .
	$(BIN)/tsc --noEmit -p .

build: $(STAMP) ## Compile TypeScript to dist/
	$(BIN)/tsc -p tsconfig.build.json

test: $(STAMP) ## The whole suite: generated code fresh, lint, types, then every test tier
	$(BIN)/buf generate
	@if git rev-parse --git-dir >/dev/null 2>&1 && [ -n "$$(git status --porcelain -- gen)" ]; then \
	  echo "gen/ is stale: run 'make generate' and commit the result"; git status --short -- gen; exit 1; fi
	$(BIN)/buf lint
	$(BIN)/buf breaking --against contract/image.binpb
	$(BIN)/biome check .
	$(BIN)/tsc --noEmit -p .
	node --import tsx test/run.ts

bench: build ## Benchmarks; writes bench/RESULTS.md
	node --import tsx bench/all.ts

run: build ## Core on embedded defaults with a demo customer (teller dev)
	node dist/bin/teller.js dev

clean: ## Remove build output and local data
	rm -rf dist data .test-data
