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
PKGS    := libmicrohttpd libcjson sqlite3 openssl libcurl re2 icu-uc
# the Debian package that provides each pkg-config package (scripts/install-deps installs them)
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_libcjson      := libcjson-dev
DEB_sqlite3       := libsqlite3-dev
DEB_openssl       := libssl-dev
DEB_libcurl       := libcurl4-openssl-dev
DEB_re2           := libre2-dev
# ICU: UTS #46 (IDNA) processing of host names for Spanner's NET.REG_DOMAIN and
# NET.PUBLIC_SUFFIX, the processing Google's Spanner uses; the public suffix list itself is
# Debian's publicsuffix package, read at run time
DEB_icu-uc        := libicu-dev
# libunistring (Unicode case mapping and normalization, Spanner's UPPER/LOWER/NORMALIZE)
# has no pkg-config file: its header tells whether it is installed
NOPC_LIBS         := -lunistring
NOPC_HEADERS      := uninorm.h:libunistring-dev

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
MISSING_HEADERS := $(shell for h in $(NOPC_HEADERS); do printf '\043include <%s>\n' $${h%%:*} | $(CC) -E -x c - >/dev/null 2>&1 || echo $${h%%:*} '(Debian: '$${h##*:}')'; done)
ifneq ($(MISSING_HEADERS),)
$(error the compiler cannot find $(MISSING_HEADERS); install the build dependencies with scripts/install-deps)
endif
endif
CFLAGS  ?= -O2 -g
# `override` keeps these when CFLAGS/LDLIBS are given on the command line (make asan)
override CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wformat=2 -Wvla -Wno-missing-field-initializers -Wno-unknown-warning-option -pthread \
           -I. -Iemulator $(shell pkg-config --cflags $(PKGS)) -MMD -MP
override LDLIBS  += $(shell pkg-config --libs $(PKGS)) $(NOPC_LIBS) -pthread -lm -lstdc++
# C++ only for emulator/em_regex.cc, the shim over RE2: the C flags but the language's
# standard; UBSan's vptr check left out, as it would need the C++ runtime of the sanitizer
# and every binary is linked by the C compiler
CXX_FLAGS = $(filter-out -std=%,$(CFLAGS)) -std=c++17 -fno-sanitize=vptr
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# --- the services: one line each in services.def, EM_SERVICE(<name>) ---
# Every service's descriptor (<name>/<name>_descriptor.c, data only) goes into the core
# library, so that every process knows every service (IAM roles, ports). A service's other
# files make lib<name>.a; bin/<name> is linked once <name>/<name>_main.c exists.
SERVICES := $(shell sed -n 's/^EM_SERVICE(\([a-z0-9_]*\))$$/\1/p' services.def)
BUILT    := $(foreach s,$(SERVICES),$(if $(wildcard $(s)/$(s)_main.c),$(s)))
$(foreach s,$(SERVICES),$(if $(wildcard $(s)/$(s)_descriptor.c),,\
  $(error services.def lists $(s), but $(s)/$(s)_descriptor.c does not exist)))

obj = $(patsubst %.cc,$(BUILD)/%.o,$(patsubst %.c,$(BUILD)/%.o,$(1)))
lib_src = $(filter-out $(1)/$(1)_main.c $(1)/$(1)_descriptor.c,$(wildcard $(1)/*.c))

DESCRIPTOR_SRC := emulator/control/control_descriptor.c \
                  $(foreach s,$(SERVICES),$(s)/$(s)_descriptor.c)
CORE_SRC    := $(wildcard emulator/em_*.c emulator/em_*.cc) $(DESCRIPTOR_SRC)
CONTROL_SRC := $(filter-out $(DESCRIPTOR_SRC),$(wildcard emulator/control/*.c))

CORE_LIB     := $(BUILD)/libemulator.a
CONTROL_LIB  := $(BUILD)/libcontrol.a
SERVICE_LIBS := $(foreach s,$(SERVICES),$(if $(call lib_src,$(s)),$(BUILD)/lib$(s).a))

# tools: small clients of the stack built on the libraries (tools/<name>.c, '_' -> '-')
TOOL_SRC := $(wildcard tools/*.c)
TOOLS    := $(foreach t,$(TOOL_SRC),$(BIN)/$(subst _,-,$(notdir $(basename $(t)))))
BINARIES := $(BIN)/emulator $(addprefix $(BIN)/,$(BUILT)) $(TOOLS)

.PHONY: all libs test test-bins unit integ sql-diff spanner-admin-diff bigtable-diff pubsub-diff \
	diff-tests other-diffs fuzz-replay asan fuzz bench lint clean
# builds inside test, asan and fuzz run this many jobs (their tests then run one at a time)
NPROC := $(shell nproc 2>/dev/null || echo 2)
# keep every object: test, replay and bench objects are intermediate files that make would
# otherwise delete after each run and rebuild on the next
.SECONDARY:
all: $(BINARIES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call run,CC $<,$(CC) $(CFLAGS) -c $< -o $@)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(call run,CXX $<,$(CXX) $(CXX_FLAGS) -c $< -o $@)

$(CORE_LIB): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call run,AR $@,$(AR) rcs $@ $^)

$(CONTROL_LIB): $(call obj,$(filter-out emulator/control/control_main.c,$(CONTROL_SRC)))
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call run,AR $@,$(AR) rcs $@ $^)

$(BIN)/emulator: $(call obj,emulator/control/control_main.c) $(CONTROL_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

# service_rules <name>: lib<name>.a and bin/<name>
# (every library is archived afresh, so objects of removed sources do not linger in it)
define service_rules
$(BUILD)/lib$(1).a: $$(call obj,$$(call lib_src,$(1)))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	$$(call run,AR $$@,$$(AR) rcs $$@ $$^)

$(BIN)/$(1): $$(call obj,$(1)/$(1)_main.c) $(BUILD)/lib$(1).a $$(CORE_LIB)
	@mkdir -p $$(dir $$@)
	$$(call run,LD $$@,$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS))
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))

# tool_rules <tools/x_y.c>: bin/x-y, linked with the runner's library and the core
define tool_rules
$(BIN)/$(subst _,-,$(notdir $(basename $(1)))): $$(call obj,$(1)) $(BUILD)/librunner.a $$(CORE_LIB)
	@mkdir -p $$(dir $$@)
	$$(call run,LD $$@,$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS))
endef
$(foreach t,$(TOOL_SRC),$(eval $(call tool_rules,$(t))))

# runner/beam_prelude.py as C string literals, included by runner_beam.c
$(BUILD)/gen/runner_beam_prelude.inc: runner/beam_prelude.py
	@mkdir -p $(dir $@)
	$(call run,GEN $@,sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@)
$(BUILD)/runner/runner_beam.o: $(BUILD)/gen/runner_beam_prelude.inc
$(BUILD)/runner/runner_beam.o: override CFLAGS += -I$(BUILD)/gen

# every library, for tests, fuzz targets and benchmarks
libs: $(SERVICE_LIBS) $(CONTROL_LIB) $(CORE_LIB)

# --- unit tests (cmocka): tests/unit/test_<name>.c, one binary each ---
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
UNIT_LIBS := $(SERVICE_LIBS) $(CONTROL_LIB) $(CORE_LIB)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $< $(UNIT_LIBS) $(LDLIBS) -lcmocka)

unit: $(UNIT_BIN)
	@tests/unit/run-all $(UNIT_BIN)

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

FUZZ_LIBS := $(patsubst $(BUILD)/%,build/fuzz/%,$(UNIT_LIBS))

fuzz:
	$(MAKE) -j$(NPROC) BUILD=build/fuzz CC=clang CXX=clang++ CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" libs
	@set -e; for src in $(FUZZ_SRC); do name=$$(basename $$src .c); \
	  echo "== build/fuzz/$$name"; \
	  clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -I. -Iemulator \
	    $$(pkg-config --cflags $(PKGS)) -o build/fuzz/$$name $$src $(FUZZ_LIBS) \
	    $$(pkg-config --libs $(PKGS)) $(NOPC_LIBS) -pthread -lm -lstdc++; done

# --- the differential SQL test: tests/spanner/sql_corpus/*.sql run through our stack's
# executeSql and through Google's Spanner emulator's, results compared row by row (skipped,
# loudly, when Google's emulator or node is not installed; about 12 s) ---
sql-diff: all
	BIN_DIR=$(abspath $(BIN)) tests/spanner/sql_diff.sh

# --- Spanner's admin plane (instance configs, instances, databases, DDL, operations,
# sessions): tests/spanner/admin_corpus/*.sh sent over REST to ours and to Google's emulator,
# answers compared (skipped, loudly, without Google's emulator; about 40 s on a busy machine) ---
spanner-admin-diff: all
	BIN_DIR=$(abspath $(BIN)) tests/spanner/admin_diff.sh

# the Bigtable data plane and table admin against Google's cbtemulator (skips without it or node_modules)
bigtable-diff: all
	BIN_DIR=$(abspath $(BIN)) tests/bigtable/bigtable_diff.sh

# --- the differential Pub/Sub test: tests/pubsub/diff_corpus/*.sh sent over REST to our
# Pub/Sub and to Google's Pub/Sub emulator, answers compared (skipped, loudly, when Google's
# emulator or java is missing; about 50 s, the JVM's start included) ---
pubsub-diff: all
	BIN_DIR=$(abspath $(BIN)) tests/pubsub/pubsub_diff.sh

# --- integration tests: real processes on loopback, driven by curl and gcloud ---
integ: all
	BIN_DIR=$(abspath $(BIN)) tests/integ/run-all

# every binary the tests need, built in parallel before the tests run in order
test-bins: all $(UNIT_BIN) $(FUZZ_REPLAY)

test:
	@status=0; $(MAKE) -j$(NPROC) test-bins || status=1; \
	$(MAKE) -k unit fuzz-replay integ diff-tests || status=1; exit $$status

# the differential tests: Pub/Sub's (the longest) beside the three others in turn, each
# lane's output shown whole when it ends (they mostly wait on the emulators)
diff-tests: all
	$(MAKE) -k -j2 --output-sync=recurse pubsub-diff other-diffs

other-diffs: all
	$(MAKE) -k sql-diff spanner-admin-diff bigtable-diff

# the integration tests run even when a unit test failed, so one run shows every failure;
# without their gcloud sections (GCLOUD=0): make test runs those, and under ASan gcloud's own
# start-up made the pass twice as long
asan:
	@status=0; $(MAKE) -j$(NPROC) BUILD=build/asan BIN=build/asan/bin CFLAGS="-O1 -g $(SAN_FLAGS)" \
	  LDLIBS="$(SAN_FLAGS)" test-bins || status=1; \
	$(MAKE) BUILD=build/asan BIN=build/asan/bin CFLAGS="-O1 -g $(SAN_FLAGS)" \
	  LDLIBS="$(SAN_FLAGS)" -k unit fuzz-replay || status=1; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 GCLOUD=0 \
	  BIN_DIR=$(abspath build/asan/bin) tests/integ/run-all || status=1; exit $$status

BENCH_BIN := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(call run,LD $@,$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS))

# built with the tests' binaries too, so that a change that breaks one fails `make test`
test-bins: $(BENCH_BIN)

bench: all $(BENCH_BIN)
	BIN_DIR=$(abspath $(BIN)) BENCH_DIR=$(abspath $(BUILD)/bench) tests/bench/run-all

lint:
	$(call run,LINT clang-format,clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.cc' '*.h'))
	$(if $(filter 1,$(V)),,@echo "  LINT cppcheck";) cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  -I . -I emulator --suppress=missingIncludeSystem $(shell git ls-files '*.c')

clean:
	rm -rf build bin

# the dependencies of this build's objects only (other BUILD directories have their own)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
