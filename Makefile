# Thin wrappers over npm scripts. Every target installs what is missing first, keyed on the
# lock file, so a fresh clone needs nothing but Node 20 and npm.
.DEFAULT_GOAL := help
SHELL := /bin/bash
STAMP := node_modules/.install-stamp
BIN := node_modules/.bin
# buf finds the protoc-gen-es plugin on PATH, as npm scripts would.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help install generate lint build test bench run clean image image-test

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The web chat's browser test drives Debian's Chromium (playwright-core downloads no browser).
# Installed here when missing and we are root; otherwise the test fails saying how to install it.
CHROMIUM := /usr/bin/chromium

# promtool (Debian's prometheus package) checks and unit-tests deploy/prometheus/alerts.yaml.
# Installed here when missing and we are root; otherwise test/deploy-alerts.test.ts fails saying how.
# The package's own server would take port 9090 (ADMIN_PORT), so it is disabled where systemd runs.
PROMTOOL := /usr/bin/promtool

# Order-only: a missing browser or promtool is installed without re-running npm ci.
$(STAMP): package-lock.json | $(CHROMIUM) $(PROMTOOL)
	npm ci --no-audit --no-fund
	@touch $(STAMP)

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } \
	    || echo "Could not install Chromium; the web chat browser test will fail until it is installed"; \
	else echo "Chromium missing: run 'sudo apt-get install -y chromium' for the web chat browser test"; fi

$(PROMTOOL):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
	    && { systemctl disable --now prometheus >/dev/null 2>&1 || true; }; } \
	    || echo "Could not install promtool; the alert rule tests will fail until it is installed"; \
	else echo "promtool missing: run 'sudo apt-get install -y prometheus' for the alert rule tests"; fi

install: $(STAMP) ## Install dependencies (npm ci) when the lock file changed

generate: $(STAMP) ## Regenerate gen/ from proto/ with buf and protoc-gen-es
	$(BIN)/buf generate

lint: $(STAMP) ## buf lint, buf breaking, Biome, tsc --noEmit, the production dependency audit
	$(BIN)/buf lint
	$(BIN)/buf breaking --against contract/image.binpb
	$(BIN)/biome check .
	$(BIN)/tsc --noEmit -p .
	node --import tsx tools/audit-deps.ts

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
	node --import tsx tools/audit-deps.ts
	node --import tsx test/run.ts

bench: build ## Benchmarks; writes bench/RESULTS.md
	node --import tsx bench/all.ts

run: build ## Core on embedded defaults with a demo customer (teller dev)
	node dist/bin/teller.js dev

# The container image (Containerfile). `make image` builds it with buildah when installed, else
# Docker, else Podman (ENGINE=docker|podman|buildah picks one). `make image-test` builds it here,
# where no container can run and no registry answers (../shared/containers.md), and proves it:
# run from its own filesystem as its user, read-only but for DATA_DIR (deploy/image/*.test.ts).
BUILDAH := /usr/bin/buildah
DEBOOTSTRAP := /usr/sbin/debootstrap

image: ## Build the container image teller:VERSION (buildah, docker or podman)
	deploy/image/build.sh

image-test: $(STAMP) | $(BUILDAH) $(DEBOOTSTRAP) ## Build the image here with buildah and smoke-test it as its user (root)
	deploy/image/build.sh --test
	$(BIN)/mocha deploy/image/*.test.ts

# Installed when missing and we are root, like Chromium above; the package is the file's name.
$(BUILDAH) $(DEBOOTSTRAP):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(notdir $@); \
	else echo "$(notdir $@) missing: run 'sudo apt-get install -y buildah debootstrap' for make image-test"; exit 1; fi

clean: ## Remove build output and local data
	rm -rf dist data .test-data
