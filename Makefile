# Thin wrapper over CMake for the two README commands: `make run` and `make test`.
# Every target first runs `make deps`, which installs missing Debian packages (and does
# nothing when all are present).

BUILD       ?= build
ASAN_BUILD  ?= build-asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
DATA        ?= ./data

# Build and test dependencies, by Debian package name.
DEB_PACKAGES = build-essential cmake pkg-config libfyaml-dev libsqlite3-dev libsodium-dev \
               libjansson-dev libcmocka-dev nodejs sqlite3 tzdata

# Only `make lint` needs these.
LINT_PACKAGES = cppcheck clang-tidy

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps install-missing build test asan lint run tour clean format

all: build

deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(DEB_PACKAGES)"

install-missing:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYJ_WERROR=ON

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DYJ_WERROR=ON -DYJ_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# Static analysis: cppcheck and clang-tidy (checks in .clang-tidy) must stay silent.
lint: build
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(LINT_PACKAGES)"
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	  -I src -I src/base -D_GNU_SOURCE src
	@out=$$(clang-tidy -p $(BUILD) --quiet src/*.c src/*/*.c 2>/dev/null); \
	  if printf '%s\n' "$$out" | grep -q "warning:"; then printf '%s\n' "$$out"; exit 1; fi; echo "clang-tidy: clean"

# Until the server exists, `make run` walks the scripted CLI tour on a temporary data dir.
run: build
	./scripts/tour.sh $(BUILD)/yingji

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c
