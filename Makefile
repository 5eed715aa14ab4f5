# A thin front for CMake. The two commands of the README: `make run` and
# `make test`. Each installs what is missing first (scripts/bootstrap).
JOBS ?= 2

.PHONY: all bootstrap build run test bench fuzz fmt check-format lint clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

# Build the optimised binary and start the demo: Herald on 127.0.0.1:8080 and
# the Telegram simulator with its web chat on http://127.0.0.1:8081/.
run: bootstrap
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target herald
	./build/release/herald demo

# The whole suite in the AddressSanitizer + UndefinedBehaviorSanitizer build.
test: bootstrap
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan

bench: bootstrap
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target herald tme_bench
	bench/run.sh build/release/herald

# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: bootstrap
	scripts/fuzz-smoke $(FUZZ_SECONDS)

fmt:
	git ls-files '*.c' '*.h' | xargs clang-format -i

check-format:
	scripts/check-format

lint:
	scripts/lint

clean:
	rm -rf build
