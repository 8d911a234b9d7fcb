# One non-recursive build for every service.
#   make          build bin/* (warnings are errors)
#   make test     unit tests, fuzz-corpus replay, integration tests (curl + gcloud)
#   make asan     ASan + UBSan build of everything, with the unit and integration tests on it
#   make fuzz     libFuzzer targets (clang) in build/fuzz/
#   make bench    benchmarks (tests/bench/)
#   make lint     clang-format check and cppcheck

CC      ?= cc
BUILD   ?= build/release
BIN     ?= bin
PKGS    := libmicrohttpd libcjson sqlite3 openssl libcurl
# the Debian package that provides each pkg-config package (scripts/install-deps installs them)
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_libcjson      := libcjson-dev
DEB_sqlite3       := libsqlite3-dev
DEB_openssl       := libssl-dev
DEB_libcurl       := libcurl4-openssl-dev

# One line per step ("  CC emulator/em_http.c"); V=1 shows the whole commands (start-all
# passes it and reads them for its progress count).
V ?= 0
run = $(if $(filter 1,$(V)),$(2),@echo "  $(1)"; $(2))

# A missing library stops the build here, naming it, instead of as a compiler error later.
ifneq ($(filter-out clean lint,$(or $(MAKECMDGOALS),all)),)
MISSING_PKGS := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(MISSING_PKGS),)
$(error pkg-config cannot find $(MISSING_PKGS) (Debian: $(foreach p,$(MISSING_PKGS),$(or $(DEB_$(p)),$(p)))); install the build dependencies with scripts/install-deps)
endif
endif
CFLAGS  ?= -O2 -g
# `override` keeps these when CFLAGS/LDLIBS are given on the command line (make asan)
override CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wvla -Wno-missing-field-initializers -Wno-unknown-warning-option -pthread \
           -I. -Iemulator $(shell pkg-config --cflags $(PKGS)) -MMD -MP
override LDLIBS  += $(shell pkg-config --libs $(PKGS)) -pthread -lm
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SERVICES := kms pubsub

CORE_SRC    := $(wildcard emulator/em_*.c)
CONTROL_SRC := $(wildcard emulator/control/*.c)
KMS_SRC     := $(wildcard kms/*.c)
PUBSUB_SRC  := $(wildcard pubsub/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

CORE_LIB := $(BUILD)/libemulator.a
KMS_LIB  := $(BUILD)/libkms.a
PUBSUB_LIB := $(BUILD)/libpubsub.a
# Spanner's GoogleSQL layer (spanner/*.c): a library for the unit tests and fuzz replay, no
# service binary yet
SPANNER_LIB := $(BUILD)/libspanner.a
CONTROL_LIB := $(BUILD)/libcontrol.a

BINARIES := $(BIN)/emulator $(addprefix $(BIN)/,$(SERVICES))

.PHONY: all test unit integ fuzz-replay asan fuzz bench lint clean
# keep every object: test, replay and bench objects are intermediate files that make would
# otherwise delete after each run and rebuild on the next
.SECONDARY:
all: $(BINARIES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call run,CC $<,$(CC) $(CFLAGS) -c $< -o $@)

$(CORE_LIB): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	$(call run,AR $@,$(AR) rcs $@ $^)

$(KMS_LIB): $(call obj,$(filter-out kms/kms_main.c,$(KMS_SRC)))
	@mkdir -p $(dir $@)
	$(call run,AR $@,$(AR) rcs $@ $^)

$(PUBSUB_LIB): $(call obj,$(filter-out pubsub/pubsub_main.c,$(PUBSUB_SRC)))
	@mkdir -p $(dir $@)
	$(call run,AR $@,$(AR) rcs $@ $^)

$(SPANNER_LIB): $(call obj,$(wildcard spanner/*.c))
	@mkdir -p $(dir $@)
	$(call run,AR $@,$(AR) rcs $@ $^)

$(CONTROL_LIB): $(call obj,$(filter-out emulator/control/control_main.c,$(CONTROL_SRC)))
	@mkdir -p $(dir $@)
	$(call run,AR $@,$(AR) rcs $@ $^)

$(BIN)/emulator: $(call obj,emulator/control/control_main.c) $(CONTROL_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

$(BIN)/kms: $(call obj,kms/kms_main.c) $(KMS_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

$(BIN)/pubsub: $(call obj,pubsub/pubsub_main.c) $(PUBSUB_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

# --- unit tests (cmocka): tests/unit/test_<name>.c, one binary each ---
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_LIBS := $(KMS_LIB) $(PUBSUB_LIB) $(SPANNER_LIB) $(CONTROL_LIB) $(CORE_LIB)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $< $(UNIT_LIBS) $(LDLIBS) -lcmocka)

unit: $(UNIT_BIN)
	@status=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || status=1; done; exit $$status

# --- fuzz targets: built with clang -fsanitize=fuzzer; their corpora are replayed in
# `make test` through a plain driver so the regression suite runs without clang ---
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRC))

$(BUILD)/tests/replay_%: $(call obj,tests/fuzz/%.c) $(call obj,tests/fuzz/replay_main.c) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

fuzz-replay: $(FUZZ_REPLAY)
	@status=0; for t in $(FUZZ_REPLAY); do \
	  name=$${t##*/replay_}; echo "== replay $$name"; $$t tests/fuzz/corpus/$$name || status=1; \
	  done; exit $$status

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
	  build/fuzz/libemulator.a build/fuzz/libkms.a build/fuzz/libpubsub.a build/fuzz/libcontrol.a \
	  build/fuzz/libspanner.a
	@set -e; for src in $(FUZZ_SRC); do name=$$(basename $$src .c); \
	  echo "== build/fuzz/$$name"; \
	  clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -I. -Iemulator \
	    $$(pkg-config --cflags $(PKGS)) -o build/fuzz/$$name $$src \
	    build/fuzz/libkms.a build/fuzz/libpubsub.a build/fuzz/libspanner.a build/fuzz/libcontrol.a \
	    build/fuzz/libemulator.a \
	    $$(pkg-config --libs $(PKGS)) -pthread -lm; done

# --- integration tests: real processes on loopback, driven by curl and gcloud ---
integ: all
	BIN_DIR=$(abspath $(BIN)) tests/integ/run-all

test: all unit fuzz-replay integ

# the integration tests run even when a unit test failed, so one run shows every failure
asan:
	@status=0; $(MAKE) BUILD=build/asan BIN=build/asan/bin CFLAGS="-O1 -g $(SAN_FLAGS)" \
	  LDLIBS="$(SAN_FLAGS)" all unit fuzz-replay || status=1; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  BIN_DIR=$(abspath build/asan/bin) tests/integ/run-all || status=1; exit $$status

BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

bench: all $(BENCH_BIN)
	BIN_DIR=$(abspath $(BIN)) BENCH_DIR=$(abspath $(BUILD)/bench) tests/bench/run-all

lint:
	$(call run,LINT clang-format,clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h'))
	$(if $(filter 1,$(V)),,@echo "  LINT cppcheck";) cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  -I emulator --suppress=missingIncludeSystem $(shell git ls-files '*.c')

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
