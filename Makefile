# SPDX-License-Identifier: MIT
# The two set-up commands (make demo, make test) and the benchmark entry point. Each
# target installs missing Debian packages first, so they work on a fresh machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all build deps demo test test-release test-asan bench fuzz clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/tailguard demo

# Release build first, then the whole suite again under ASan + UBSan; the last ctest
# summary line ends the output.
test: test-release test-asan

test-release: build
	@cd $(BUILD) && ctest --output-on-failure --no-tests=error -j 2

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTG_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && TG_SANITIZED=1 ctest --output-on-failure --no-tests=error -j 2

bench: build
	@bash scripts/install-deps.sh --bench
	@bash bench/proxy.sh
	@bash bench/loadgen.sh
	@bash bench/micro.sh
	@bash bench/tsdb_vs_prometheus.sh
	@bash bench/collectors.sh
	@python3 bench/respond.py --bin build/tailguard

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTG_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
