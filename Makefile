# Thin wrapper over CMake for the two README commands: `make run` and `make test`.
# Every target first runs `make deps`, which installs missing Debian packages (and does
# nothing when all are present).

BUILD       ?= build
ASAN_BUILD  ?= build-asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
DATA        ?= ./data

# What building the server needs, by Debian package name (`make run`, `make install`): no npm,
# no browser. The console's third-party files are committed (web/vendor).
BUILD_PACKAGES = build-essential cmake pkg-config libfyaml-dev libsqlite3-dev libsodium-dev \
               libjansson-dev libcmocka-dev libmicrohttpd-dev libhyperscan-dev libpcre2-dev uthash-dev libuv1-dev libcurl4-openssl-dev libnftables-dev libxml2-dev libopencc-dev \
               libcsv-dev libpq-dev tzdata
# And what the tests need besides (`make test`).
TEST_PACKAGES = nodejs sqlite3 openssl fail2ban nftables chromium fonts-noto-cjk systemd postgresql-15 $(NPM_PACKAGE)
DEB_PACKAGES = $(BUILD_PACKAGES) $(TEST_PACKAGES)
# Debian's nodejs comes without npm (the tests' playwright-core, ajv and swagger-cli are npm
# packages); a Node.js that brings its own npm (NodeSource) must not get Debian's too.
NPM_PACKAGE := $(if $(shell command -v npm),,npm)

# Only `make lint` needs these.
LINT_PACKAGES = cppcheck clang-tidy

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build-deps install-missing build compile test asan lint fuzz run install tour clean format screenshots

all: build

deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(DEB_PACKAGES)"

build-deps:
	@$(MAKE) --no-print-directory install-missing PACKAGES="$(BUILD_PACKAGES)"

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

# Everything, tests included (npm installs the tests' packages at configure when it can).
build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The server alone, from the checkout: what `make run` and `make install` need.
compile: build-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target yingji

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The console's main pages as PNGs for the README, taken by the end-to-end test in Chromium.
screenshots: build
	cd $(BUILD) && YJ_SCREENSHOTS=$(CURDIR)/docs/screenshots YINGJI_BIN=$(CURDIR)/$(BUILD)/yingji \
	  YJ_SOURCE_DIR=$(CURDIR) node --test $(CURDIR)/tests/e2e/console.test.mjs

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

# Every parser is fuzzed with libFuzzer for FUZZ_SECONDS each, seeded with the shipped files.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
fuzz: deps
	@$(MAKE) --no-print-directory install-missing PACKAGES="clang libclang-rt-dev"
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DYJ_FUZZ=ON -DYJ_WERROR=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_plan fuzz_text fuzz_rules fuzz_webguard fuzz_http
	mkdir -p $(FUZZ_BUILD)/corpus/plan $(FUZZ_BUILD)/corpus/text $(FUZZ_BUILD)/corpus/rules $(FUZZ_BUILD)/corpus/webguard $(FUZZ_BUILD)/corpus/http
	cp plans/*.yaml $(FUZZ_BUILD)/corpus/plan/
	cp rules/*.yaml $(FUZZ_BUILD)/corpus/rules/
	cp tests/fuzz/*.html $(FUZZ_BUILD)/corpus/webguard/
	printf 'Nov 22 01:38:57 h sshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2' > $(FUZZ_BUILD)/corpus/rules/line
	printf '1h30m' > $(FUZZ_BUILD)/corpus/text/d; printf '2026-11-22T09:30:00.5+08:00' > $(FUZZ_BUILD)/corpus/text/t
	printf 'GET /api/v1/incidents/1?x=%%41 HTTP/1.1\r\nHost: x\r\n\r\n' > $(FUZZ_BUILD)/corpus/http/get
	printf 'POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}' > $(FUZZ_BUILD)/corpus/http/post
	printf 'POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' > $(FUZZ_BUILD)/corpus/http/chunked
	cd $(FUZZ_BUILD) && export LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp && \
	  ./fuzz_plan -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -artifact_prefix=./ corpus/plan && \
	  ./fuzz_text -max_total_time=$(FUZZ_SECONDS) -timeout=10 -artifact_prefix=./ corpus/text && \
	  ./fuzz_rules -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -artifact_prefix=./ corpus/rules && \
	  ./fuzz_webguard -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -artifact_prefix=./ corpus/webguard && \
	  ./fuzz_http -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 -artifact_prefix=./ corpus/http

# The server with its SQLite store in $(DATA): the built-in university plan, or PLAN=FILE (or
# builtin:county-bureau), and CONFIG=FILE for a deployment config (yingji.example.yaml). On first
# start it creates the administrator and prints the one-time password. LISTEN=0.0.0.0:8080 to
# serve the LAN. PLAN, CONFIG and LISTEN left empty leave it to the config (or the defaults).
LISTEN ?= $(if $(CONFIG),,127.0.0.1:8080)
PLAN   ?=
CONFIG ?=
run: compile
	$(BUILD)/yingji $(if $(CONFIG),--config $(CONFIG)) $(if $(PLAN),--plan $(PLAN)) --data $(DATA) \
	  serve $(if $(LISTEN),--listen $(LISTEN))

# Installs the server as a system service: the binary in $(PREFIX)/bin, yingji.service (its own
# user `yingji`, data in /var/lib/yingji, Restart=on-failure), the config in /etc/yingji (an
# existing one is kept) and the docs. DESTDIR=DIR stages it there instead (packaging, tests):
# then no user is created and systemd is not told.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR  = $(PREFIX)/bin
DOCDIR  = $(PREFIX)/share/doc/yingji
UNITDIR ?= /etc/systemd/system
install: compile
	install -D -m 0755 $(BUILD)/yingji $(DESTDIR)$(BINDIR)/yingji
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' packaging/yingji.service \
	  > $(DESTDIR)$(UNITDIR)/yingji.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/yingji.service
	install -d -m 0755 $(DESTDIR)/etc/yingji
	install -m 0644 yingji.example.yaml $(DESTDIR)/etc/yingji/yingji.example.yaml
	[ -e $(DESTDIR)/etc/yingji/yingji.yaml ] || install -m 0644 packaging/yingji.yaml $(DESTDIR)/etc/yingji/yingji.yaml
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	@if [ -z "$(DESTDIR)" ]; then \
	  id -u yingji >/dev/null 2>&1 || useradd --system --home-dir /var/lib/yingji --no-create-home \
	    --shell /usr/sbin/nologin --comment "Yingji emergency desk" yingji; \
	  install -d -m 0700 -o yingji -g yingji /var/lib/yingji; \
	  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	  echo "installed. Edit /etc/yingji/yingji.yaml (your plan, public_url, channels), then:"; \
	  echo "  systemctl enable --now yingji && journalctl -u yingji   # the admin's one-time password"; \
	fi

# The command-line tour on a temporary data dir (no server needed).
tour: build
	./scripts/tour.sh $(BUILD)/yingji

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

format:
	clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c
