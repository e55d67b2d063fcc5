# sioagent build, test and demo entry points. See docs/TESTING.md.
#
#   make test    installs missing Debian packages (systemd, qemu-user,
#                systemd-container, debootstrap), then format check, vet, race
#                tests (with the Node.js reference server), the mutation
#                check, ARM cross builds, ARM vet, ARMv6 tests and the boot
#                tests: what CI runs
#   make test-mutants  scripts/mutants.sh: small mutations the tests must catch
#   make test-node-package  the tests of server/node (the sioagent-server npm
#                package), with node --test, against a throwaway redis-server
#   make demo    reference server in DEMO mode + `sioagent listen` against it
#   make fuzz    every Go fuzz target (of FUZZPKGS) for FUZZTIME each, one at a time
#   make bench   all benchmarks with allocation counts, then the bytes written
#                to disk per reading (bench/diskwrites) and the share of a
#                slow, long link a backlog drain uses, with bytes per reading
#                with and without compression (bench/linkfill)
#   make cross   compile every package for linux/arm (v6, v7) and arm64, vet
#                for ARMv6; cross/check.sh
#   make test-arm run the tests built for ARMv6 under qemu-arm; cross/test-arm.sh
#   make size-check the release binaries' sizes against the smallest HTTPS
#                client (cross/size): fails above cross/size.MaxRatio (1.58) times it
#                on ARMv6 and arm64
#   make test-boot install the .deb in Debian 12 booted under systemd-nspawn
#                (amd64, and arm64 under qemu); needs root; scripts/bootroot.sh
#   make build   the agent for this machine in bin/sioagent
#   make dist    release binaries in dist/: linux armv6 (every Pi on a 32-bit
#                OS), armv7, arm64 and amd64; static, stripped, reproducible;
#                cross/dist.sh (make build-arm6, build-arm7, build-arm64: one)
#   make deb     Debian packages in dist/ (armhf, arm64, amd64); cross/deb.sh
#   make clean   remove build outputs and the node_modules of examples/server and server/node
#
# Every binary of build, dist and deb comes from cross/build.sh, the one
# place the release build flags are set; VERSION=... overrides its version
# (default: git describe). cross/ holds these scripts and their tests.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO        ?= go
NPM       ?= npm
FUZZTIME  ?= 30s
FUZZPKGS  ?= ./...
DEMO_PORT ?= 3000
DEMO_URL  ?= http://127.0.0.1:$(DEMO_PORT)

SERVER_DIR := examples/server
# npm writes node_modules/.package-lock.json on every install; it is older
# than package-lock.json exactly when the installation is stale.
NODE_STAMP := $(SERVER_DIR)/node_modules/.package-lock.json
# The npm package for server authors (server/node/README.md), its own
# dependencies and the same kind of stamp.
NODE_PKG_DIR := server/node
NODE_PKG_STAMP := $(NODE_PKG_DIR)/node_modules/.package-lock.json

.PHONY: system-deps test fmt-check vet test-go test-mutants test-node-package cross size-check test-arm test-boot demo fuzz bench node-deps clean dist build build-arm6 build-arm7 build-arm64 deb

## Reference server dependencies ---------------------------------------------

node-deps: $(NODE_STAMP)

$(NODE_STAMP): $(SERVER_DIR)/package-lock.json $(SERVER_DIR)/package.json
	cd $(SERVER_DIR) && $(NPM) ci --no-audit --no-fund
	touch $@

$(NODE_PKG_STAMP): $(NODE_PKG_DIR)/package-lock.json $(NODE_PKG_DIR)/package.json
	cd $(NODE_PKG_DIR) && $(NPM) ci --no-audit --no-fund
	touch $@

## Checks ----------------------------------------------------------------------

test: system-deps node-deps fmt-check vet test-go test-node-package test-mutants cross size-check test-arm test-boot

# Debian packages for the systemd unit checks, the ARM and the boot tests.
system-deps:
	scripts/system-deps.sh

fmt-check:
	@files="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -not -path '*/testdata/*' -print0 | xargs -0r gofmt -l)"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...

# SIOAGENT_REQUIRE_SYSTEMD makes the systemd unit checks fail (not skip)
# when systemd-analyze is missing; .ci/run installs it. The other
# SIOAGENT_REQUIRE_* (internal/testenv) are set for what this machine
# guarantees: mounting (root, on Linux), a git work tree, the kernel's
# boot id; each turns the matching skip into a failure.
# SIOAGENT_REQUIRE_FUSE makes the power-cut tests (internal/powercut,
# TestPowerCut*) fail instead of skipping where /dev/fuse cannot be used.
REQUIRE_ENV := SIOAGENT_REQUIRE_SYSTEMD=1 SIOAGENT_REQUIRE_FUSE=1 \
  $(if $(and $(filter Linux,$(shell uname -s)),$(filter 0,$(shell id -u))),SIOAGENT_REQUIRE_MOUNT=1) \
  $(if $(shell git rev-parse --is-inside-work-tree 2>/dev/null),SIOAGENT_REQUIRE_GIT=1) \
  $(if $(wildcard /proc/sys/kernel/random/boot_id),SIOAGENT_REQUIRE_BOOTID=1)

test-go: node-deps
	$(strip $(REQUIRE_ENV)) $(GO) test -race -count=1 ./...

# server/node's tests (node --test; about 11 s, 17 s with npm ci). SIOAGENT_REQUIRE_REDIS
# makes its Redis store tests fail, not skip, when redis-server is missing
# (scripts/system-deps.sh installs it).
test-node-package: $(NODE_PKG_STAMP)
	cd $(NODE_PKG_DIR) && SIOAGENT_REQUIRE_REDIS=1 node --test test/*.test.js test/*.test.mjs

# The suite's own blind spots: each mutant of scripts/mutants.sh is a small
# change that its package's tests must catch (docs/TESTING.md).
test-mutants: node-deps
	GO=$(GO) scripts/mutants.sh

# The Raspberry Pi targets (cross/lib.sh): Pi Zero/1 (ARMv6), Pi 2/3 32-bit
# (ARMv7), 64-bit Pi OS (arm64). Static, no cgo.
cross:
	GO=$(GO) cross/check.sh

# Builds sioagent and cross/size/testdata/floor (one HTTPS request, std
# only) with the release flags for each release target, prints the sizes
# and ratios, and fails where sioagent is over cross/size.MaxRatio times
# the floor on ARMv6 or arm64.
size-check:
	GO=$(GO) SIOAGENT_SIZE_CHECK=1 $(GO) test -count=1 -v -run '^TestBinarySize$$' ./cross/size/

# The tests of most packages also run built for a Pi Zero/1 (ARMv6) under
# qemu user emulation; the ones that re-execute their test binary through
# binfmt_misc. ARM_TEST_PKGS, ARM_REEXEC_PKGS and QEMU_ARM given to make
# reach the script, which documents them.
test-arm:
	GO=$(GO) cross/test-arm.sh

# The boot tests (systemd/bootsteps_test.go): the .deb installed in a Debian 12
# booted with systemd-nspawn, against the Node server. The Debian trees are
# cached outside the repository (SIOAGENT_CACHE, default
# /var/cache/sioagent-test).
test-boot: node-deps
	SIOAGENT_BOOT=1 $(GO) test -race -count=1 -timeout 30m -run '^TestBoot' ./systemd/

## Release binaries ------------------------------------------------------------

build:
	GO=$(GO) cross/build.sh native bin/sioagent

build-arm6:
	GO=$(GO) cross/dist.sh dist arm/6

build-arm7:
	GO=$(GO) cross/dist.sh dist arm/7

build-arm64:
	GO=$(GO) cross/dist.sh dist arm64

# Every release binary and dist/SHA256SUMS of them.
dist:
	GO=$(GO) cross/dist.sh dist

# One .deb per architecture with the binary, the systemd unit, the sysusers
# entry, the udev rules and the example config as a conffile.
deb:
	for arch in armhf arm64 amd64; do GO='$(GO)' cross/deb.sh $$arch dist; done

## Demo, fuzzing, benchmarks -------------------------------------------------

demo: node-deps
	PORT=$(DEMO_PORT) DEMO_URL=$(DEMO_URL) GO=$(GO) scripts/demo.sh

fuzz:
	FUZZTIME=$(FUZZTIME) FUZZPKGS='$(FUZZPKGS)' GO=$(GO) scripts/fuzz.sh

# DISKWRITES_READINGS: readings of the flash-wear measurement
# (bench/diskwrites; docs/OUTBOX.md quotes a run of 600).
DISKWRITES_READINGS ?= 120

bench: node-deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./bench/diskwrites -readings $(DISKWRITES_READINGS)
	$(GO) run ./bench/linkfill

## Housekeeping ----------------------------------------------------------------

clean:
	rm -rf bin dist $(SERVER_DIR)/node_modules $(NODE_PKG_DIR)/node_modules
	$(GO) clean -testcache
