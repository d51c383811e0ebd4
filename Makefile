# brunt — top-level Makefile.
#
# Shaped like redis's src/Makefile: warnings, optimisation and debug flags are kept
# apart so each can be overridden alone; dependency files come from -MMD; output is
# quiet unless V=1.  Everything is built under build/ (or $(BUILD) when set).
#
#   make                 build build/brunt
#   make check           unit tests (Criterion) + end-to-end tests + brief fuzzing, then
#                        unit and end-to-end again under ASan/UBSan
#   make demo            install what is missing, build, run the built-in demo
#   make bench           benchmarks against peers (wrk), not part of check
#   make SANITIZE=address,undefined check
#   make install PREFIX=/usr/local

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
PKGS     := libfyaml openssl libpcre2-8 libdw zlib libprotobuf-c

STD      := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith -Wformat=2 \
            -Wno-missing-field-initializers
OPT      ?= -O2
DEBUG    ?= -g
# Warnings are errors in CI (CI=true) and with WERROR=1.
ifeq ($(CI),true)
WERROR   ?= 1
endif
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ifneq ($(SANITIZE),)
SAN      := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1
BUILD    := build-san
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_ALL  = $(STD) $(WARN) $(OPT) $(DEBUG) $(SAN) -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
# Generated code (protoc-c) is built without our warning set: it is not ours to fix.
CFLAGS_GEN  = $(STD) $(OPT) $(DEBUG) $(SAN) -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
LDFLAGS_ALL = $(SAN) -pthread $(LDFLAGS)
LIBS_ALL    = $(PKG_LIBS) -lm $(LIBS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(filter-out src/brunt.c,$(shell find src -name '*.c' | sort))
# pprof's profile.proto, compiled by protoc-c (protobuf-c-compiler) into $(BUILD)/gen/.
PROTO    := proto/profile.proto
GEN_SRC  := $(BUILD)/gen/profile.pb-c.c
GEN_HDR  := $(BUILD)/gen/profile.pb-c.h
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/profile.pb-c.o
TEST_SRC := $(shell find tests/unit -name '*.c' | sort)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

BIN      := $(BUILD)/brunt
LIB      := $(BUILD)/libbrunt.a
UNIT     := $(BUILD)/unit-tests

.PHONY: all check unit e2e fuzz demo bench install clean setup format format-check

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(GEN_SRC) $(GEN_HDR) &: $(PROTO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --c_out=$(BUILD)/gen --proto_path=proto $<

$(BUILD)/gen/profile.pb-c.o: $(GEN_SRC)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_GEN) -c $< -o $@

# Whatever includes the generated header waits for it.
$(LIB_SRC:%.c=$(BUILD)/%.o) $(TEST_OBJ) $(BUILD)/src/brunt.o: | $(GEN_HDR)

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/src/brunt.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL)

$(UNIT): $(TEST_OBJ) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_ALL) -lcriterion

# brunt demo assembles the example it runs into the binary (.incbin).
$(BUILD)/src/cli/demo.o: examples/auction-bidding.yaml

# The whole suite: what is missing installed first (scripts/setup.sh is quiet when all
# is there), then unit tests, the binary end to end, and each fuzz target briefly.
# Then the unit and end-to-end tests again under AddressSanitizer and UBSan.
check:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory format-check unit e2e fuzz
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined unit e2e

unit: $(UNIT)
	$(Q)$(UNIT) --jobs 2

# Under the sanitizers the tests that measure timing precision (a 20 ms delay reported
# within 5% + 1 ms) are left to the optimised pass: ASan slows both ends by milliseconds.
# Every other end-to-end test runs in both passes.
E2E_ALL    := $(sort $(basename $(notdir $(wildcard tests/e2e/test_*.sh))))
E2E_TIMING := test_run_delay
E2E_TESTS  := $(if $(SANITIZE),$(filter-out $(E2E_TIMING),$(E2E_ALL)),$(E2E_ALL))

e2e: $(BIN)
	$(Q)BRUNT=$(abspath $(BIN)) tests/e2e/run.sh $(E2E_TESTS)

fuzz:
	$(Q)scripts/fuzz.sh $(FUZZ_SRC)

demo:
	$(Q)scripts/setup.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BIN) demo --export demo-result.json

bench: $(BIN)
	$(Q)BRUNT=$(abspath $(BIN)) bench/run.sh
	$(Q)BRUNT=$(abspath $(BIN)) bench/scenario.sh
	$(Q)BRUNT=$(abspath $(BIN)) bench/vus.sh

setup:
	$(Q)scripts/setup.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/brunt
	install -m 644 docs/brunt.1 $(DESTDIR)$(PREFIX)/share/man/man1/brunt.1

format:
	clang-format -i $(shell find src tests -name '*.[ch]')

format-check:
	$(Q)clang-format --dry-run --Werror $(shell find src tests -name '*.[ch]')
	@echo "format: the tree matches .clang-format"

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/src/brunt.d
