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
# rediss:// (TLS to the fleet's store, core/redis_tls.c) where hiredis has
# its SSL library: hiredis 1.x (Debian 13's libhiredis-dev ships it);
# Debian 12's 0.14 has none, and rediss:// is then refused in the
# configuration.  HIREDIS_SSL=no builds without it anywhere.
HIREDIS_SSL	?= $(shell $(PKG_CONFIG) --exists hiredis_ssl 2>/dev/null && \
		   echo yes)
ifeq ($(HIREDIS_SSL),yes)
CORE_PKGS	+= hiredis_ssl
REDIS_TLS_DEF	= -DMTASTS_REDIS_TLS
endif
CLI_PKGS	= jansson libevent zlib
CORE_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS) 2>/dev/null) \
		  $(REDIS_TLS_DEF)
CORE_LIBS	= $(shell $(PKG_CONFIG) --libs $(CORE_PKGS) 2>/dev/null) -ldb
CLI_CFLAGS	= $(shell $(PKG_CONFIG) --cflags $(CLI_PKGS) 2>/dev/null)
CLI_LIBS	= $(shell $(PKG_CONFIG) --libs $(CLI_PKGS) 2>/dev/null)

ALL_CFLAGS	= $(STD) $(WARNINGS) $(CFLAGS) -Iinclude \
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
UNITS		= $(UNIT_SRCS:tests/unit/%.c=%)

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

# The programs: each from its sources (NAME_SRCS) and the core, with
# its own libraries (NAME_LIBS).  opensmtpd-filter/loglimit.c is the
# filter's, shared with the table: bad input logged without a flood.
# adapter/: what the daemons share (their log, adapter/log.h).
PROGS		= mtasts filter-mtasts table-mtasts mtasts-socketmap \
		  mtasts-tlsrptd
ADAPTER_SRCS	= $(sort $(wildcard adapter/*.c))
mtasts_SRCS	= $(CLI_SRCS)
mtasts_LIBS	= $(CLI_LIBS)
filter-mtasts_SRCS = $(sort $(wildcard opensmtpd-filter/*.c)) \
		  $(ADAPTER_SRCS)
table-mtasts_SRCS = $(sort $(wildcard opensmtpd-filter/table/*.c)) \
		  opensmtpd-filter/fields.c opensmtpd-filter/loglimit.c \
		  $(ADAPTER_SRCS)
mtasts-socketmap_SRCS = $(sort $(wildcard socketmap/*.c)) $(ADAPTER_SRCS)
# mtasts-tlsrptd(8): the collector of libtlsrpt's datagrams (Postfix 3.10).
mtasts-tlsrptd_SRCS = $(sort $(wildcard tlsrptd/*.c)) $(ADAPTER_SRCS)

all: $(LIB_A) $(LIB_PUB_A) $(B)/$(LIB_SONAME) $(PROGS:%=$(B)/%) \
    $(B)/exim/mtasts.so

# Idempotent: only touches apt when something is missing.
deps:
	@sh tests/deps.sh $(DEB_PKGS)

# One compile rule per object tree, all from the same flags:
#   $(B)        what is installed
#   $(B)/asan   AddressSanitizer, UndefinedBehaviorSanitizer and the
#               allocation-failure hook (core/util.c) for the tests
#   $(B)/alloc  the hook alone: the Exim module of torture.sh (Exim has
#               no ASan)
# Layering: only the core and its tests see the core's headers (-Icore;
# the tests cli/'s send.h too); the CLI and the adapters build against
# include/mtasts.h alone, so one that includes a core header does not
# compile.  -MMD: header dependencies.  XCFLAGS: an object's own.
LAYER		= $(if $(filter core/%,$<),-Icore,$(if $(filter \
		  tests/unit/% tests/fuzz/%,$<),-Icore -Icli))
COMPILE		= $(CC) $(ALL_CFLAGS) $(LAYER) -MMD -MP -fPIC \
		  -fvisibility=hidden $(CORE_CFLAGS) $(CLI_CFLAGS) $(XCFLAGS)
$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(E) "  CC      $<"
	$(Q)$(COMPILE) -c $< -o $@
$(B)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(E) "  CC      $< (asan)"
	$(Q)$(COMPILE) $(SAN) -DMTASTS_ALLOC_TEST -c $< -o $@
$(B)/alloc/%.o: %.c
	@mkdir -p $(@D)
	$(E) "  CC      $< (alloc)"
	$(Q)$(COMPILE) -DMTASTS_ALLOC_TEST -c $< -o $@

# A tree's objects from sources: $(call objs,TREE,SOURCES).
objs		= $(addprefix $(1)/,$(2:.c=.o))
# The tree of a target: $(B)/asan/x and $(B)/asan/tests/x are in
# $(B)/asan.  ASan's runtime comes with the link of that tree.
tree		= $(patsubst %/tests,%,$(@D))
tree_san	= $(if $(filter $(B)/asan,$(tree)),$(SAN))
# Link a program of the tree from its objects and that tree's core.
LINK		= $(CC) $(tree_san) $(LDFLAGS) -o $@ $(filter %.o,$^) \
		  $(tree)/libmtasts.a

# Prerequisites named from $@ (the tree, the program's sources).
.SECONDEXPANSION:

$(LIB_A) $(B)/asan/libmtasts.a: $$(call objs,$$(@D),$$(CORE_SRCS))
	$(E) "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The installed static library: the core linked into one object whose
# hidden (internal) symbols are made local, so a program that links it
# sees only the mtasts_ API, as with the shared library.  $(LIB_A), with
# the internals reachable, is for the unit tests and the CLI.
$(LIB_PUB_A): $(call objs,$(B),$(CORE_SRCS))
	@mkdir -p $(@D)
	$(E) "  AR      $@"
	$(Q)$(LD) -r -o $(@D)/libmtasts.o $^
	$(Q)objcopy --localize-hidden $(@D)/libmtasts.o
	$(Q)rm -f $@ && ar rcs $@ $(@D)/libmtasts.o

$(LIB_SO): $(call objs,$(B),$(CORE_SRCS)) core/libmtasts.map
	$(E) "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,$(LIB_SONAME) \
	    -Wl,--version-script=core/libmtasts.map $(LDFLAGS) \
	    -o $@ $(filter %.o,$^) $(CORE_LIBS)

$(B)/$(LIB_SONAME): $(LIB_SO)
	ln -sf libmtasts.so.$(VERSION) $@

# Every program, and its ASan+UBSan twin for the tests.
$(PROGS:%=$(B)/%) $(PROGS:%=$(B)/asan/%): \
    $$(call objs,$$(@D),$$($$(@F)_SRCS)) $$(@D)/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(LINK) $($(@F)_LIBS) $(CORE_LIBS)

# The Exim ${dlfunc} module: the core linked in, only the three entry
# points exported; Exim's own functions (log_write, string_copy_function,
# store_get_3) are resolved when Exim loads it.  The same module with
# the allocation-failure hook for tests/integration/torture.sh.
EXIM_CFLAGS	= -isystem /usr/include/exim4
$(B)/exim-dlfunc/%.o $(B)/alloc/exim-dlfunc/%.o: XCFLAGS = $(EXIM_CFLAGS)
$(B)/exim/mtasts.so $(B)/alloc/exim/mtasts.so: exim-dlfunc/mtasts.map \
    $$(call objs,$$(patsubst %/exim,%,$$(@D)),exim-dlfunc/mtasts.c \
    $$(CORE_SRCS))
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) -shared -Wl,--version-script=exim-dlfunc/mtasts.map \
	    $(LDFLAGS) -o $@ $(filter %.o,$^) $(CORE_LIBS)

# Made at install time: it must carry the PREFIX of that install.
$(B)/mtasts.pc: mtasts.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@CORE_PKGS@|$(CORE_PKGS)|' mtasts.pc.in > $@

# Unit tests (cmocka) link the static library, whose internal helpers
# are reachable; each plain and under ASan+UBSan.  Some have more parts:
# TEST_SRCS (the files under test beside the core), TEST_MAIN (a file
# not named like the test), TEST_NEEDS (a program the test runs).
test_alloc_fail_MAIN = tests/unit/alloc_fail.c
test_decide_fail_MAIN = tests/unit/decide_fail.c
# table-mtasts's framing, and the program itself.
test_table_SRCS	= opensmtpd-filter/table/wire.c
test_table_NEEDS = table-mtasts
$(B)/tests/unit/test_table.o: XCFLAGS = -DTABLE_BIN=\"$(B)/table-mtasts\"
$(B)/asan/tests/unit/test_table.o: \
    XCFLAGS = -DTABLE_BIN=\"$(B)/asan/table-mtasts\"
# filter-mtasts's protocol reader and --report state machine, the rest
# of the filter replaced by recorders in the test.
test_filter_SRCS = opensmtpd-filter/proto.c opensmtpd-filter/report.c \
		  opensmtpd-filter/probe.c opensmtpd-filter/fields.c \
		  opensmtpd-filter/loglimit.c adapter/lograte.c
# The adapters' limit on lines about hostile input, with a recorder.
test_lograte_SRCS = adapter/lograte.c
# The socketmap's netstring and request readers, its answers' Postfix
# 3.10 attributes.
test_socketmap_SRCS = socketmap/netstring.c socketmap/request.c \
		  socketmap/attr.c
# mtasts report send's pure parts (cli/send.c): cli/mail.c (the report
# mail, the mailto: address) and cli/sendstate.c (the per-report state).
test_sendmail_SRCS = cli/mail.c cli/sendstate.c
test_sendstate_SRCS = $(test_sendmail_SRCS)
# mtasts-tlsrptd's datagram parser and tally.
test_tlsrptd_SRCS = tlsrptd/dgram.c tlsrptd/tally.c

UNIT_BINS	= $(UNITS:%=$(B)/tests/%)
ASAN_UNIT_BINS	= $(UNITS:%=$(B)/asan/tests/%) \
		  $(B)/asan/tests/test_alloc_fail \
		  $(B)/asan/tests/test_decide_fail
$(UNIT_BINS) $(ASAN_UNIT_BINS): $$(call objs,$$(tree),$$(or \
    $$($$(@F)_MAIN),tests/unit/$$(@F).c) $$($$(@F)_SRCS)) \
    $$(tree)/libmtasts.a $$(addprefix $$(tree)/,$$($$(@F)_NEEDS))
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(LINK) -lcmocka $(CORE_LIBS)

# Fuzz targets: one per parser (tests/fuzz/README.md), the parser's
# files beside the core in fuzz_NAME_SRCS.  The corpus is replayed under
# ASan+UBSan by a plain main() (replay.c); libFuzzer builds need clang.
fuzz_filterproto_SRCS = opensmtpd-filter/proto.c opensmtpd-filter/fields.c \
		  opensmtpd-filter/loglimit.c adapter/lograte.c
fuzz_filterreport_SRCS = $(test_filter_SRCS)
fuzz_tablewire_SRCS = opensmtpd-filter/table/wire.c
fuzz_tabletext_SRCS = opensmtpd-filter/table/text.c \
		  opensmtpd-filter/table/answer.c opensmtpd-filter/fields.c \
		  opensmtpd-filter/loglimit.c adapter/lograte.c
fuzz_netstring_SRCS = $(test_socketmap_SRCS)
fuzz_smattr_SRCS = $(test_socketmap_SRCS)
fuzz_mailto_SRCS = $(test_sendmail_SRCS)
fuzz_sendstate_SRCS = $(test_sendmail_SRCS)
fuzz_tlsrptd_SRCS = $(test_tlsrptd_SRCS)

REPLAY_BINS	= $(FUZZ_NAMES:%=$(B)/asan/replay_%)
FUZZ_BINS	= $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
$(REPLAY_BINS): $(B)/asan/replay_%: $(B)/asan/tests/fuzz/fuzz_%.o \
    $(B)/asan/tests/fuzz/replay.o \
    $$(call objs,$(B)/asan,$$(fuzz_$$*_SRCS)) $(B)/asan/libmtasts.a
	$(E) "  LD      $@"
	$(Q)$(LINK) $(CORE_LIBS)
$(FUZZ_BINS): $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_$$*_SRCS) \
    $(CORE_SRCS)
	@mkdir -p $(@D)
	$(CLANG) $(STD) -g -O1 -Iinclude -Icore -Icli $(CORE_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $< $(fuzz_$*_SRCS) \
	    $(CORE_SRCS) -o $@ $(CORE_LIBS)

# Helpers of the integration tests: hostile and legitimate socketmap
# clients (socketmap-load.sh); TLS results recorded as an adapter would
# (fleet.sh).
TEST_TOOLS	= $(B)/tests/smhostile $(B)/tests/tlsrec
$(TEST_TOOLS): $(B)/tests/%: $(B)/tests/integration/%.o $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(LINK) $(CORE_LIBS)

# Without the core: datagrams written byte for byte as libtlsrpt 0.5
# does (Debian 12 has no libtlsrpt; also the bench's flood), a holder of
# the store's lock, and a socket that only recv()s (the bench's floor).
# tlsrptreal sends through the real libtlsrpt (Debian 13, libtlsrpt-dev),
# built by tests/trixie/root.sh there.
PLAIN_TOOLS	= $(B)/tests/tlsrptsend $(B)/tests/lockhold $(B)/dgfloor
$(B)/tests/tlsrptsend $(B)/tests/lockhold: $(B)/tests/%: tests/tlsrptd/%.c
$(B)/tests/tlsrptreal: tests/trixie/tlsrptreal.c
$(B)/dgfloor: bench/dgfloor.c
$(PLAIN_TOOLS) $(B)/tests/tlsrptreal:
	@mkdir -p $(@D)
	$(E) "  LD      $@"
	$(Q)$(CC) $(STD) $(WARNINGS) -O2 $< -o $@ $(if $(filter \
	    %/tlsrptreal,$@),-ltlsrpt)

test: all $(UNIT_BINS) $(ASAN_UNIT_BINS) $(REPLAY_BINS) \
    $(PROGS:%=$(B)/asan/%) $(B)/alloc/exim/mtasts.so $(TEST_TOOLS) \
    $(PLAIN_TOOLS)
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

# Benchmarks: one file each, built -O2 whatever CFLAGS say.
$(B)/bench $(B)/smload: $(B)/%: bench/%.c $(LIB_A)
	$(E) "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Icore $(CORE_CFLAGS) $(CLI_CFLAGS) -O2 $< \
	    -o $@ $(LIB_A) $(CLI_LIBS) $(CORE_LIBS)

bench: deps all $(B)/bench $(B)/smload $(PLAIN_TOOLS)
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
# socketmap server, in $(PROGS) above.
SBINDIR		?= $(PREFIX)/sbin
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
