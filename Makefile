# herald — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE ?= node
NPM ?= npm
AVA := $(NODE) node_modules/ava/entrypoints/cli.mjs

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n\nTargets:\n"} /^[a-zA-Z_-]+:.*##/ { printf "  %-24s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install npm packages (npm ci, only when package-lock.json changed)

.PHONY: build
build: deps ## Compile TypeScript (src, test, bench) into build/
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json

.PHONY: test
test: test-unit test-integration ## Run unit and integration tests (sets up everything it needs)

.PHONY: test-unit
test-unit: build ## Run unit tests (no control plane)
	$(AVA) --config ava.unit.config.js

.PHONY: test-integration
test-integration: build controlplane-binaries ## Run integration tests against a real etcd + kube-apiserver
	$(NODE) build/test/support/run-integration.js

.PHONY: controlplane-binaries
controlplane-binaries: build ## Find or build etcd, kube-apiserver, kubectl (KUBEBUILDER_ASSETS, PATH, cache, go build)
	$(NODE) build/test/support/controlplane/cli.js binaries

.PHONY: controlplane-up
controlplane-up: build ## Start a control plane by hand (CRDs installed) and keep it until Ctrl-C
	$(NODE) build/test/support/controlplane/cli.js up

.PHONY: clean
clean: ## Remove build output (not the control-plane binary cache)
	rm -rf build

.PHONY: generate
generate: build ## Regenerate src/api/generated.ts from crds/
	$(NODE) build/src/api/codegen.js crds > src/api/generated.ts.tmp && mv src/api/generated.ts.tmp src/api/generated.ts
