# mtasts - MTA-STS (RFC 8461) and TLSRPT (RFC 8460) for sending MTAs.
#
#   make            build libmtasts.a, libmtasts.so.0 and mtasts
#   make deps       install build and test dependencies (Debian, as root)
#   make test       build + unit tests and fuzz corpora (fast, no root)
#   make check      deps + build + every test (also under ASan+UBSan)
#   make demo       deps + build + a short tour on local fixtures
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make bench      print ns/op figures
#   make install    honours DESTDIR and PREFIX

VERSION		= 0.1.0
SOVERSION	= 0

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
MANDIR		?= $(PREFIX)/share/man
LIBEXECDIR	?= $(PREFIX)/libexec
EXIMMODDIR	?= $(LIBDIR)/exim4
# smtpd looks for table backends in its own libexec directory only.
SMTPDTABLEDIR	?= $(LIBEXECDIR)/opensmtpd
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig

CC		?= cc
CLANG		?= clang
PKG_CONFIG	?= pkg-config
CFLAGS		?= -O2 -g
# Warnings are errors in development and CI; the Debian package build
# sets WERROR= so a newer compiler's new warning cannot fail it.
WERROR		?= -Werror
WARNINGS	= -Wall -Wextra $(WERROR) -Wshadow -Wpointer-arith -Wcast-qual \
		  -Wstrict-prototypes -Wmissing-prototypes \
		  -Wmissing-declarations -Wsign-compare -Wformat=2
STD		= -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE

CORE_PKGS	= openssl libidn2 libcares libevent libcurl hiredis
CLI_PKGS	= jansson libevent zlib
CORE_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS) 2>/dev/null)
CORE_LIBS	= $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null) -ldb
CLI_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(CLI_PKGS) 2>/dev/null)
CLI_LIBS	= $(shell $(PKG_CONFIG) --libs $(CLI_PKGS) 2>/dev/null)

ALL_CFLAGS	= $(STD) $(WARNINGS) $(CFLAGS) -Iinclude -Icore \
		  -DMTASTS_VERSION_STR=\"$(VERSION)\"
SAN		= -fsanitize=address,undefined -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer

B		= build
# Quiet by default; "make V=1" shows full commands.
V		?= 0
ifeq ($(V),0)
Q		= @
E		= @echo
else
Q		=
E		= @:
endif
CORE_SRCS	= $(sort $(wildcard core/*.c))
CLI_SRCS	= $(sort $(wildcard cli/*.c))
UNIT_SRCS	= $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS	= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES	= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))

CORE_OBJS	= $(CORE_SRCS:%.c=$(B)/%.o)
CLI_OBJS	= $(CLI_SRCS:%.c=$(B)/%.o)
ASAN_CORE_OBJS	= $(CORE_SRCS:%.c=$(B)/asan/%.o)
ASAN_CLI_OBJS	= $(CLI_SRCS:%.c=$(B)/asan/%.o)
UNIT_BINS	= $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
ASAN_UNIT_BINS	= $(UNIT_SRCS:tests/unit/%.c=$(B)/asan/tests/%)
REPLAY_BINS	= $(FUZZ_NAMES:%=$(B)/asan/replay_%)
FUZZ_BINS	= $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)

LIB_A		= $(B)/libmtasts.a
LIB_PUB_A	= $(B)/pub/libmtasts.a
LIB_SO		= $(B)/libmtasts.so.$(VERSION)
LIB_SONAME	= libmtasts.so.$(SOVERSION)
MANPAGES	= $(wildcard docs/*.[1-8])

# libclang-rt-dev: the libFuzzer runtime of the default clang, whatever
# its version (14 on Debian 12, 19 on Debian 13).
DEB_PKGS	= build-essential pkg-config libssl-dev libidn2-dev \
		  libc-ares-dev libcurl4-openssl-dev libevent-dev libdb5.3-dev \
		  db5.3-util \
		  libjansson-dev libcmocka-dev clang libclang-rt-dev \
		  mandoc openssl \
		  nsd nginx-light bind9-dnsutils netcat-openbsd curl jq \
		  exim4-dev socat zlib1g-dev unbound ldnsutils \
		  prometheus libhiredis-dev redis-server

.PHONY: FORCE all deps check test demo fuzz bench install uninstall clean

all: $(LIB_A) $(LIB_PUB_A) $(B)/$(LIB_SONAME) $(B)/mtasts $(B)/exim/mtasts.so

# Idempotent: only touches apt when something is missing.
deps:
	@sh tests/deps.sh $(DEB_PKGS)

# Layering: only the core's own files see its headers (-Icore); the CLI
# and the adapters build against include/mtasts.h alone, so one that
# includes a core header does not compile.  -MMD: header dependencies.
OBJ_CFLAGS	= $(if $(filter core/%,$<),$(ALL_CFLAGS),\
		  $(filter-out -Icore,$(ALL_CFLAGS))) -MMD -MP
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(E) "  CC      $<"
	$(Q)$(CC) $(OBJ_CFLAGS) -fPIC -fvisibility=hidden $(CORE_CFLAGS) \
	    $(CLI_CFLAGS) -c $< -o $@

$(LIB_A): $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $(CORE_OBJS)

# The installed static library: the core linked into one object whose
# hidden (internal) symbols are made local, so a program that links it
# sees only the mtasts_ API, as with the shared library.  $(LIB_A), with
# the internals reachable, is for the unit tests and the CLI.
$(LIB_PUB_A): $(CORE_OBJS)
	@mkdir -p $(@D)
	$(E) "  AR      $@"
	$(Q)$(LD) -r -o $(@D)/libmtasts.o $(CORE_OBJS)
	$(Q)objcopy --localize-hidden $(@D)/libmtasts.o
	$(Q)rm -f $@ && ar rcs $@ $(@D)/libmtasts.o

$(LIB_SO): $(CORE_OBJS) core/libmtasts.map
	$(E) "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,$(LIB_SONAME) \
	    -Wl,--version-script=core/libmtasts.map $(LDFLAGS) \
	    -o $@ $(CORE_OBJS) $(CORE_LIBS)

$(B)/$(LIB_SONAME): $(LIB_SO)
	ln -sf libmtasts.so.$(VERSION) $@

$(B)/mtasts: $(CLI_OBJS) $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB_A) $(CLI_LIBS) $(CORE_LIBS)

# The Exim ${dlfunc} module: the core linked in, only the three entry
# points exported; Exim's own functions (log_write, string_copy_function,
# store_get_3) are resolved when Exim loads it.
EXIM_CFLAGS	= -isystem /usr/include/exim4
$(B)/exim/mtasts.so: exim-dlfunc/mtasts.c exim-dlfunc/mtasts.map \
    $(CORE_OBJS) include/mtasts.h
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(filter-out -Icore,$(ALL_CFLAGS)) $(EXIM_CFLAGS) \
	    -fPIC -fvisibility=hidden \
	    -shared -Wl,--version-script=exim-dlfunc/mtasts.map $(LDFLAGS) \
	    -o $@ $< $(CORE_OBJS) $(CORE_LIBS)

# The same module with the allocation-failure hook (MTASTS_ALLOC_TEST,
# core/util.c) for tests/integration/torture.sh; Exim has no ASan.
$(B)/alloc/exim/mtasts.so: exim-dlfunc/mtasts.c exim-dlfunc/mtasts.map \
    $(CORE_SRCS) include/mtasts.h $(wildcard core/*.h)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(EXIM_CFLAGS) -DMTASTS_ALLOC_TEST -fPIC \
	    -fvisibility=hidden -shared \
	    -Wl,--version-script=exim-dlfunc/mtasts.map $(CORE_CFLAGS) \
	    $(LDFLAGS) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)
test: $(B)/alloc/exim/mtasts.so

# The OpenSMTPD filter (opensmtpd-filter/, filter-mtasts(8)): the core
# linked in statically; an ASan+UBSan build for the tests too.
FILTER_SRCS	= $(sort $(wildcard opensmtpd-filter/*.c))
FILTER_OBJS	= $(FILTER_SRCS:%.c=$(B)/%.o)
ASAN_FILTER_OBJS = $(FILTER_SRCS:%.c=$(B)/asan/%.o)
$(FILTER_OBJS) $(ASAN_FILTER_OBJS): opensmtpd-filter/filter.h \
    opensmtpd-filter/loglimit.h
all: $(B)/filter-mtasts
test: $(B)/filter-mtasts $(B)/asan/filter-mtasts

$(B)/filter-mtasts: $(FILTER_OBJS) $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(FILTER_OBJS) $(LIB_A) $(CORE_LIBS)

$(B)/asan/filter-mtasts: $(ASAN_FILTER_OBJS) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_FILTER_OBJS) $(B)/asan/libmtasts.a \
	    $(CORE_LIBS)

# table-mtasts (opensmtpd-filter/table/, table-mtasts(8)): the table
# backend smtpd 6.8 runs for "relay domain <mtasts>" (MX pinning).
# loglimit.c is the filter's, shared: bad input logged without a flood.
TABLE_SRCS	= $(sort $(wildcard opensmtpd-filter/table/*.c)) \
		  opensmtpd-filter/loglimit.c
TABLE_OBJS	= $(TABLE_SRCS:%.c=$(B)/%.o)
ASAN_TABLE_OBJS	= $(TABLE_SRCS:%.c=$(B)/asan/%.o)
$(TABLE_OBJS) $(ASAN_TABLE_OBJS): opensmtpd-filter/table/table.h \
    opensmtpd-filter/loglimit.h
all: $(B)/table-mtasts
test: $(B)/table-mtasts $(B)/asan/table-mtasts

$(B)/table-mtasts: $(TABLE_OBJS) $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TABLE_OBJS) $(LIB_A) $(CORE_LIBS)

$(B)/asan/table-mtasts: $(ASAN_TABLE_OBJS) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_TABLE_OBJS) $(B)/asan/libmtasts.a \
	    $(CORE_LIBS)

# Its unit test has the framing compiled in and runs the program.
$(B)/tests/test_table: tests/unit/test_table.c opensmtpd-filter/table/wire.c \
    opensmtpd-filter/table/table.h $(LIB_A) $(B)/table-mtasts
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -DTABLE_BIN=\"$(B)/table-mtasts\" \
	    $< opensmtpd-filter/table/wire.c -o $@ $(LIB_A) -lcmocka $(CORE_LIBS)
$(B)/asan/tests/test_table: tests/unit/test_table.c \
    opensmtpd-filter/table/wire.c opensmtpd-filter/table/table.h \
    $(B)/asan/libmtasts.a $(B)/asan/table-mtasts
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) \
	    -DTABLE_BIN=\"$(B)/asan/table-mtasts\" $< \
	    opensmtpd-filter/table/wire.c -o $@ $(B)/asan/libmtasts.a -lcmocka \
	    $(CORE_LIBS)

# filter-mtasts's protocol reader and --report state machine, the rest
# of the filter replaced by recorders in the test.
FILTER_TESTED	= opensmtpd-filter/proto.c opensmtpd-filter/report.c \
		  opensmtpd-filter/probe.c opensmtpd-filter/loglimit.c
$(B)/tests/test_filter: tests/unit/test_filter.c $(FILTER_TESTED) \
    opensmtpd-filter/filter.h opensmtpd-filter/loglimit.h $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $< $(FILTER_TESTED) -o $@ \
	    $(LIB_A) -lcmocka $(CORE_LIBS)
$(B)/asan/tests/test_filter: tests/unit/test_filter.c $(FILTER_TESTED) \
    opensmtpd-filter/filter.h opensmtpd-filter/loglimit.h \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    $(FILTER_TESTED) -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

# Made at install time: it must carry the PREFIX of that install.
$(B)/mtasts.pc: mtasts.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    mtasts.pc.in > $@

# Unit tests link the static library (internal helpers are reachable).
$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $< -o $@ $(LIB_A) -lcmocka \
	    $(CORE_LIBS)

# The same under AddressSanitizer and UndefinedBehaviorSanitizer, with
# the allocation-failure hook compiled in (util.c, MTASTS_ALLOC_TEST).
$(B)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(E) "  CC      $< (asan)"
	$(Q)$(CC) $(OBJ_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) \
	    $(CLI_CFLAGS) -c $< -o $@

$(B)/asan/libmtasts.a: $(ASAN_CORE_OBJS)
	rm -f $@
	ar rcs $@ $(ASAN_CORE_OBJS)

$(B)/asan/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

$(B)/asan/mtasts: $(ASAN_CLI_OBJS) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_CLI_OBJS) $(B)/asan/libmtasts.a \
	    $(CLI_LIBS) $(CORE_LIBS)

$(B)/asan/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
    $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) $< tests/fuzz/replay.c \
	    -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)

# The filter's protocol reader has its own target: proto.c with the rest
# of the filter replaced by recorders.
FILTER_PROTO	= opensmtpd-filter/proto.c opensmtpd-filter/loglimit.c
$(B)/asan/replay_filterproto: tests/fuzz/fuzz_filterproto.c \
    $(FILTER_PROTO) opensmtpd-filter/filter.h tests/fuzz/replay.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $< $(FILTER_PROTO) \
	    tests/fuzz/replay.c -o $@
$(B)/fuzz/fuzz_filterproto: tests/fuzz/fuzz_filterproto.c \
    $(FILTER_PROTO) opensmtpd-filter/filter.h
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -fsanitize=fuzzer,address,undefined $< \
	    $(FILTER_PROTO) -o $@

# table-mtasts's frame reader: wire.c alone.
$(B)/asan/replay_tablewire: tests/fuzz/fuzz_tablewire.c \
    opensmtpd-filter/table/wire.c opensmtpd-filter/table/table.h \
    tests/fuzz/replay.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $< opensmtpd-filter/table/wire.c \
	    tests/fuzz/replay.c -o $@
$(B)/fuzz/fuzz_tablewire: tests/fuzz/fuzz_tablewire.c \
    opensmtpd-filter/table/wire.c opensmtpd-filter/table/table.h
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -fsanitize=fuzzer,address,undefined $< \
	    opensmtpd-filter/table/wire.c -o $@

# --report behind the protocol reader, with the core (a real cache).
FILTER_REPORT	= opensmtpd-filter/proto.c opensmtpd-filter/report.c \
		  opensmtpd-filter/probe.c opensmtpd-filter/loglimit.c
$(B)/asan/replay_filterreport: tests/fuzz/fuzz_filterreport.c \
    $(FILTER_REPORT) opensmtpd-filter/filter.h tests/fuzz/replay.c \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) $< $(FILTER_REPORT) \
	    tests/fuzz/replay.c -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)
$(B)/fuzz/fuzz_filterreport: tests/fuzz/fuzz_filterreport.c \
    $(FILTER_REPORT) opensmtpd-filter/filter.h $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(FILTER_REPORT) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# table-mtasts's text protocol (7.6+) with its answers and the core.
TABLE_TEXT	= opensmtpd-filter/table/text.c opensmtpd-filter/table/answer.c \
		  opensmtpd-filter/loglimit.c
$(B)/asan/replay_tabletext: tests/fuzz/fuzz_tabletext.c $(TABLE_TEXT) \
    opensmtpd-filter/table/table.h tests/fuzz/replay.c $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) $< $(TABLE_TEXT) \
	    tests/fuzz/replay.c -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)
$(B)/fuzz/fuzz_tabletext: tests/fuzz/fuzz_tabletext.c $(TABLE_TEXT) \
    opensmtpd-filter/table/table.h $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(TABLE_TEXT) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# libFuzzer needs clang; the core is compiled into each target.
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_SRCS) include/mtasts.h
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(CORE_SRCS) -o $@ \
	    $(CORE_LIBS)

# Only the ASan tree has the allocation-failure hook.
$(B)/asan/tests/test_alloc_fail: tests/unit/alloc_fail.c \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

# The decision under allocation failure and at teardown (decide.c).
$(B)/asan/tests/test_decide_fail: tests/unit/decide_fail.c \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

test: all $(UNIT_BINS) $(ASAN_UNIT_BINS) $(B)/asan/tests/test_alloc_fail \
    $(B)/asan/tests/test_decide_fail \
    $(B)/asan/mtasts $(REPLAY_BINS)
	@B=$(B) FUZZ_NAMES="$(FUZZ_NAMES)" sh tests/run.sh $(TESTS)

# "make test" is the edit loop: unit tests (plain and ASan+UBSan), the
# fuzz corpora and the citation check, as an ordinary user.  "make check"
# is everything: it installs what the tests need (root), adds the
# install test, the CLI contract and the real programs on loopback.
TESTS		?= quick
check: deps
	@$(MAKE) --no-print-directory test TESTS=all

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh $(B)/mtasts $(B)

FUZZ_SECONDS	?= 60
fuzz: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(B)/fuzz/corpus-$$n; \
	    echo "fuzz_$$n: $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus-$$n \
	        tests/fuzz/corpus/$$n 2>&1 | tail -n 2 || exit 1; \
	done

$(B)/bench: bench/bench.c $(LIB_A)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(CLI_CFLAGS) -O2 $< -o $@ $(LIB_A) \
	    $(CLI_LIBS) $(CORE_LIBS)

bench: deps all $(B)/bench $(B)/table-mtasts
	@$(B)/bench
	@sh bench/cold.sh $(B)
	@sh bench/exim.sh $(B)
	@sh bench/filter.sh $(B)
	@sh bench/smtpd.sh $(B)
	@sh bench/socketmap.sh $(B)
	@sh bench/fleet.sh $(B)
	@sh bench/tlsrptd.sh $(B)

install: all $(B)/mtasts.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/mtasts $(DESTDIR)$(BINDIR)/mtasts
	install -m 644 $(LIB_PUB_A) $(DESTDIR)$(LIBDIR)/libmtasts.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libmtasts.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libmtasts.so
	install -m 644 include/mtasts.h $(DESTDIR)$(INCLUDEDIR)/mtasts.h
	install -m 644 $(B)/mtasts.pc $(DESTDIR)$(PKGCONFIGDIR)/mtasts.pc
	install -d $(DESTDIR)$(EXIMMODDIR) $(DESTDIR)$(LIBEXECDIR)/mtasts
	install -m 644 $(B)/exim/mtasts.so $(DESTDIR)$(EXIMMODDIR)/mtasts.so
	install -m 755 $(B)/filter-mtasts \
	    $(DESTDIR)$(LIBEXECDIR)/mtasts/filter-mtasts
	install -d $(DESTDIR)$(SMTPDTABLEDIR)
	install -m 755 $(B)/table-mtasts $(DESTDIR)$(SMTPDTABLEDIR)/table-mtasts
	for m in $(MANPAGES); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mtasts $(DESTDIR)$(LIBDIR)/libmtasts.* \
	    $(DESTDIR)$(INCLUDEDIR)/mtasts.h $(DESTDIR)$(PKGCONFIGDIR)/mtasts.pc \
	    $(DESTDIR)$(EXIMMODDIR)/mtasts.so \
	    $(DESTDIR)$(LIBEXECDIR)/mtasts/filter-mtasts \
	    $(DESTDIR)$(SMTPDTABLEDIR)/table-mtasts
	for m in $(MANPAGES); do s=$${m##*.}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf $(B)
FORCE:

# Debian packages (debian/, docs/install.md).  CPPFLAGS from the
# environment (dpkg-buildflags: _FORTIFY_SOURCE) reach every compile;
# CFLAGS and LDFLAGS already do.  "make deb" builds from a copy of the
# tree under $(B)/deb/src (dpkg-buildpackage writes its output next to
# the source) and leaves the .deb files in $(B)/deb.
ALL_CFLAGS	+= $(CPPFLAGS)
DEB_PKGS	+= debhelper dpkg-dev fakeroot lintian
# tests/trixie/root.sh: a Debian 13 root for the build and unit tests.
DEB_PKGS	+= mmdebstrap
DEB_SRC		= $(B)/deb/src/mtasts-$(VERSION)
.PHONY: deb deb-build
deb: deps
	@$(MAKE) --no-print-directory deb-build

deb-build:
	rm -rf $(B)/deb
	mkdir -p $(DEB_SRC)
	tar -c --exclude-vcs --exclude=./build --exclude='./build-*' \
	    --exclude='./$(B)' --exclude=./debian/build . | \
	    tar -x -C $(DEB_SRC)
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="nocheck $(DEB_BUILD_OPTIONS)" \
	    MAKEFLAGS= MFLAGS= dpkg-buildpackage -us -uc -b >../build.log 2>&1 || \
	    { tail -n 40 ../build.log; exit 1; }
	cp $(B)/deb/src/*.deb $(B)/deb/src/*.changes $(B)/deb/
	@ls $(B)/deb/*.deb

# mtasts report send (cli/send.c): its pure parts, cli/mail.c (the
# report mail, the mailto: address) and cli/sendstate.c (the per-report
# send state), get unit tests and fuzz targets built with those two
# files; these explicit rules win over the pattern rules above.
SEND_PURE	= cli/mail.c cli/sendstate.c
SEND_UNITS	= test_sendmail test_sendstate
SEND_FUZZ	= mailto sendstate
$(SEND_UNITS:%=$(B)/tests/%): $(B)/tests/%: tests/unit/%.c $(SEND_PURE) \
    cli/send.h $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -Icli $< $(SEND_PURE) -o $@ \
	    $(LIB_A) -lcmocka $(CORE_LIBS)
$(SEND_UNITS:%=$(B)/asan/tests/%): $(B)/asan/tests/%: tests/unit/%.c \
    $(SEND_PURE) cli/send.h $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) -Icli $< $(SEND_PURE) \
	    -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)
$(SEND_FUZZ:%=$(B)/asan/replay_%): $(B)/asan/replay_%: tests/fuzz/fuzz_%.c \
    tests/fuzz/replay.c $(SEND_PURE) cli/send.h $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -Icli $< tests/fuzz/replay.c \
	    $(SEND_PURE) -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)
$(SEND_FUZZ:%=$(B)/fuzz/fuzz_%): $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c \
    $(SEND_PURE) cli/send.h $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore -Icli $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(SEND_PURE) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# systemd units for mtasts report send (systemd/, docs/tlsrpt.md).
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
$(B)/systemd/mtasts-report.service: systemd/mtasts-report.service.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(BINDIR)|' $< > $@
install: install-systemd
install-systemd: $(B)/systemd/mtasts-report.service
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 644 $(B)/systemd/mtasts-report.service \
	    systemd/mtasts-report.timer $(DESTDIR)$(SYSTEMDUNITDIR)/
uninstall: uninstall-systemd
uninstall-systemd:
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-report.service \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-report.timer
.PHONY: install-systemd uninstall-systemd

# mtasts-socketmap (socketmap/, mtasts-socketmap(8)): the Postfix
# socketmap server, the core linked in statically; an ASan+UBSan build
# for the tests too.
SBINDIR		?= $(PREFIX)/sbin
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
SM_SRCS		= $(sort $(wildcard socketmap/*.c))
SM_OBJS		= $(SM_SRCS:%.c=$(B)/%.o)
ASAN_SM_OBJS	= $(SM_SRCS:%.c=$(B)/asan/%.o)
SM_FUZZ_SRCS	= socketmap/netstring.c socketmap/request.c socketmap/attr.c
$(SM_OBJS) $(ASAN_SM_OBJS): $(wildcard socketmap/*.h)
all: $(B)/mtasts-socketmap
test: $(B)/mtasts-socketmap $(B)/asan/mtasts-socketmap

$(B)/mtasts-socketmap: $(SM_OBJS) $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(SM_OBJS) $(LIB_A) $(CORE_LIBS)

$(B)/asan/mtasts-socketmap: $(ASAN_SM_OBJS) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_SM_OBJS) $(B)/asan/libmtasts.a \
	    $(CORE_LIBS)

# The netstring and request readers, and the answers' attributes: their
# own fuzz targets, the core compiled in (request.c normalises names
# with it).
SM_FUZZ		= netstring smattr
SM_FUZZ_HDRS	= socketmap/netstring.h socketmap/request.h socketmap/attr.h
$(SM_FUZZ:%=$(B)/asan/replay_%): $(B)/asan/replay_%: tests/fuzz/fuzz_%.c \
    $(SM_FUZZ_SRCS) $(SM_FUZZ_HDRS) tests/fuzz/replay.c \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) $< $(SM_FUZZ_SRCS) \
	    tests/fuzz/replay.c -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)
$(SM_FUZZ:%=$(B)/fuzz/fuzz_%): $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c \
    $(SM_FUZZ_SRCS) $(SM_FUZZ_HDRS) $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(SM_FUZZ_SRCS) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# Hostile and legitimate clients for tests/integration/socketmap-load.sh.
$(B)/tests/smhostile: tests/integration/smhostile.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(STD) $(WARNINGS) -O2 $< -o $@
test: $(B)/tests/smhostile

# TLS results recorded as an adapter would, for tests/integration/fleet.sh.
$(B)/tests/tlsrec: tests/integration/tlsrec.c $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(filter-out -Icore,$(ALL_CFLAGS)) $< -o $@ $(LIB_A) \
	    $(CORE_LIBS)
test: $(B)/tests/tlsrec

$(B)/smload: bench/smload.c
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARNINGS) -O2 $< -o $@
bench: $(B)/mtasts-socketmap $(B)/smload
DEB_PKGS	+= postfix-mta-sts-resolver

install: install-socketmap
install-socketmap: $(B)/mtasts-socketmap
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(B)/mtasts-socketmap $(DESTDIR)$(SBINDIR)/
	sed 's|/usr/sbin/|$(SBINDIR)/|' \
	    systemd/mtasts-socketmap.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-socketmap.service
uninstall: uninstall-socketmap
uninstall-socketmap:
	rm -f $(DESTDIR)$(SBINDIR)/mtasts-socketmap \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-socketmap.service
.PHONY: install-socketmap uninstall-socketmap

# Its unit test links the two readers next to the core.
$(B)/tests/test_socketmap: tests/unit/test_socketmap.c $(SM_FUZZ_SRCS) \
    socketmap/netstring.h socketmap/request.h socketmap/attr.h $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $< $(SM_FUZZ_SRCS) -o $@ \
	    $(LIB_A) -lcmocka $(CORE_LIBS)
$(B)/asan/tests/test_socketmap: tests/unit/test_socketmap.c \
    $(SM_FUZZ_SRCS) socketmap/netstring.h socketmap/request.h \
    socketmap/attr.h \
    $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    $(SM_FUZZ_SRCS) -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

# mtasts-tlsrptd (tlsrptd/, mtasts-tlsrptd(8)): the collector for
# libtlsrpt's datagrams (Postfix 3.10), the core linked in statically;
# an ASan+UBSan build for the tests too.
TD_SRCS		= $(sort $(wildcard tlsrptd/*.c))
TD_OBJS		= $(TD_SRCS:%.c=$(B)/%.o)
ASAN_TD_OBJS	= $(TD_SRCS:%.c=$(B)/asan/%.o)
TD_FUZZ_SRCS	= tlsrptd/dgram.c tlsrptd/tally.c
$(TD_OBJS) $(ASAN_TD_OBJS): tlsrptd/tlsrptd.h
all: $(B)/mtasts-tlsrptd
test: $(B)/mtasts-tlsrptd $(B)/asan/mtasts-tlsrptd

$(B)/mtasts-tlsrptd: $(TD_OBJS) $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TD_OBJS) $(LIB_A) $(CORE_LIBS)

$(B)/asan/mtasts-tlsrptd: $(ASAN_TD_OBJS) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_TD_OBJS) $(B)/asan/libmtasts.a \
	    $(CORE_LIBS)

# A sender that writes datagrams byte for byte as libtlsrpt 0.5 does
# (Debian 12 has no libtlsrpt), with a flood mode for the bench.
$(B)/tests/tlsrptsend: tests/tlsrptd/tlsrptsend.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(STD) $(WARNINGS) -O2 $< -o $@
test: $(B)/tests/tlsrptsend
$(B)/tests/lockhold: tests/tlsrptd/lockhold.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(STD) $(WARNINGS) -O2 $< -o $@
test: $(B)/tests/lockhold
# The same through the real libtlsrpt (Debian 13: libtlsrpt0-dev), built
# by tests/trixie/root.sh there.
$(B)/tests/tlsrptreal: tests/trixie/tlsrptreal.c
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(STD) $(WARNINGS) -O2 $< -o $@ -ltlsrpt

# The datagram parser and the tally: their own fuzz target, the core
# compiled in (names are normalised with it).
$(B)/asan/replay_tlsrptd: tests/fuzz/fuzz_tlsrptd.c $(TD_FUZZ_SRCS) \
    tlsrptd/tlsrptd.h tests/fuzz/replay.c $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) $(CORE_CFLAGS) $< $(TD_FUZZ_SRCS) \
	    tests/fuzz/replay.c -o $@ $(B)/asan/libmtasts.a $(CORE_LIBS)
$(B)/fuzz/fuzz_tlsrptd: tests/fuzz/fuzz_tlsrptd.c $(TD_FUZZ_SRCS) \
    tlsrptd/tlsrptd.h $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(TD_FUZZ_SRCS) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# Its unit test links the parser and the tally next to the core.
$(B)/tests/test_tlsrptd: tests/unit/test_tlsrptd.c $(TD_FUZZ_SRCS) \
    tlsrptd/tlsrptd.h $(LIB_A)
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $< $(TD_FUZZ_SRCS) -o $@ \
	    $(LIB_A) -lcmocka $(CORE_LIBS)
$(B)/asan/tests/test_tlsrptd: tests/unit/test_tlsrptd.c $(TD_FUZZ_SRCS) \
    tlsrptd/tlsrptd.h $(B)/asan/libmtasts.a
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -DMTASTS_ALLOC_TEST $(CORE_CFLAGS) $< \
	    $(TD_FUZZ_SRCS) -o $@ $(B)/asan/libmtasts.a -lcmocka $(CORE_LIBS)

# bench/tlsrptd.sh: the collector beside a socket that only recv()s.
$(B)/dgfloor: bench/dgfloor.c
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARNINGS) -O2 $< -o $@
bench: $(B)/mtasts-tlsrptd $(B)/tests/tlsrptsend $(B)/dgfloor

install: install-tlsrptd
install-tlsrptd: $(B)/mtasts-tlsrptd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(B)/mtasts-tlsrptd $(DESTDIR)$(SBINDIR)/
	sed 's|/usr/sbin/|$(SBINDIR)/|' \
	    systemd/mtasts-tlsrptd.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-tlsrptd.service
uninstall: uninstall-tlsrptd
uninstall-tlsrptd:
	rm -f $(DESTDIR)$(SBINDIR)/mtasts-tlsrptd \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/mtasts-tlsrptd.service
.PHONY: install-tlsrptd uninstall-tlsrptd

# Header dependencies of every object built so far (-MMD above).
# (The test trees' "root" directories are Debian packages unpacked.)
-include $(shell find $(B) -name root -prune -o -name '*.d' -type f \
	-print 2>/dev/null)
