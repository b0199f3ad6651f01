# SPDX-License-Identifier: GPL-2.0
#
# hugeslab: user-facing targets. The module itself is described by Kbuild.
#
#   make                 module for the running kernel (or KVER=/KDIR=) + library
#   make check           everything: builds for 6.1 and 6.12, checkpatch, VM
#                        selftests on both kernels, library tests, packaging
#   sudo make install    module, library, headers, hugeslab.pc, tools, udev
#                        rule, man pages, examples (see "Installation" below)
#   sudo make uninstall  removes exactly what `make install` installed
#   sudo make install-dkms-src   module source into /usr/src for DKMS
#   make version         the module's version (MODULE_VERSION)

KVER	?= $(shell uname -r)
KDIR	?= /lib/modules/$(KVER)/build
DESTDIR	?=
PREFIX	?= /usr/local
UDEVDIR	?= /lib/udev/rules.d

all: module lib

module:
	@test -d $(KDIR) || { echo "no kernel build tree at $(KDIR):" \
		"install linux-headers-$(KVER) or pass KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace all; fi

check:
	scripts/check.sh

# The debug lane alone (make check runs it too): builds the minimal debug
# kernel the first time.
check-debug:
	scripts/debug-lane.sh --build

# Long fuzz runs on both stock kernels and the debug kernel when cached.
fuzz:
	scripts/fuzz.sh

# The benchmark suite and its report (Documentation/hugeslab/benchmarks.rst).
bench:
	scripts/install-deps.sh
	bench/run.sh

# NIC to disk in the VM with the module (HOST=1: on this host, fallback).
demo:
	scripts/demo.sh $(if $(filter 1,$(HOST)),--host)

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	rm -rf build

.PHONY: all module lib check check-debug fuzz bench demo clean

# ---------------------------------------------------------------- Installation
#
# Everything is first installed into a staging tree (build/install-stage),
# whose file list becomes the manifest
# $(PREFIX)/share/hugeslab/install-manifest, then copied into $(DESTDIR)/.
# `make uninstall` removes the manifest's entries and nothing else, so files
# installed by sub-makes (the library's own install target) are covered too.
# Installing again (another KVER, a newer version) merges the manifests.
#
# Directories (override on the command line; all but the module and udev
# directories follow PREFIX):
#   module       /lib/modules/$(KVER)/updates/hugeslab.ko[.xz], then depmod
#                (depmod -b $(DESTDIR) when DESTDIR is set; DEPMOD=true skips;
#                INSTALL_MODULE=no installs everything but the module)
#   library      $(LIBDIR): libhugeslab.so.N.N.N + links, libhugeslab.a
#   headers      $(INCLUDEDIR)/hugeslab.h, hugeslab_stats.h, linux/hugeslab*.h
#   pkg-config   $(PKGCONFIGDIR)/hugeslab.pc
#   tools        $(SBINDIR)/hugeslabctl, $(BINDIR)/hugeslab-sink,
#                $(BINDIR)/hugeslab-source (those that are built)
#   udev rule    $(UDEVDIR)/60-hugeslab.rules (udev does not read
#                /usr/local, so this one ignores PREFIX)
#   man pages    $(MANDIR)/man{1,3,8}
#   examples     $(DOCDIR)/examples: modprobe.d and modules-load.d files; they
#                are never installed into /etc, which belongs to the operator
#   docs         $(DOCDIR): README.md, admin-guide.rst

# MODULE_VERSION of the module (HUGESLAB_VERSION in module/*.[ch]).
HS_VERSION	:= $(shell sed -n 's/^\#define[[:space:]]*HUGESLAB_VERSION[[:space:]]*"\(.*\)".*/\1/p' \
			module/*.h module/*.c | head -n 1)
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/hugeslab
MODDIR		:= /lib/modules/$(KVER)/updates
DKMSSRCDIR	?= /usr/src/hugeslab-$(HS_VERSION)
MANIFEST	:= $(DATADIR)/hugeslab/install-manifest
DEPMOD		?= depmod
# no: everything but the module (DKMS provides it, or a package build).
INSTALL_MODULE	?= yes

STAGE		:= $(CURDIR)/build/install-stage
S		:= $(STAGE)

# Tools, by installed name: the first existing candidate is installed; absent
# tools are skipped (they are built by their own Makefiles, see `tools`).
# Override with e.g. HUGESLABCTL=path/to/binary.
HUGESLABCTL	?= $(firstword $(wildcard userspace/tools/build/hugeslabctl \
			userspace/build/tools/hugeslabctl userspace/tools/hugeslabctl))
HUGESLAB_SINK	?= $(firstword $(wildcard userspace/sink/build/hugeslab-sink \
			userspace/build/sink/hugeslab-sink userspace/sink/hugeslab-sink \
			userspace/build/hugeslab-sink))
HUGESLAB_SOURCE	?= $(firstword $(wildcard userspace/sink/build/hugeslab-source \
			userspace/build/sink/hugeslab-source userspace/sink/hugeslab-source \
			userspace/build/hugeslab-source))
HUGESLAB_NBD	?= $(firstword $(wildcard userspace/nbd/build/hugeslab-nbd))
TOOL_DIRS	:= $(patsubst %/Makefile,%,$(wildcard userspace/tools/Makefile \
			userspace/sink/Makefile userspace/nbd/Makefile))

# Man pages: section 3 for the library calls, 1/8 for the tools.
MAN_PAGES	:= $(sort $(wildcard userspace/man/*.[138] userspace/tools/*.[18] \
			userspace/tools/man/*.[18] userspace/sink/*.[18] \
			userspace/sink/man/*.[18] userspace/nbd/*.[18]))
EXAMPLES	:= packaging/hugeslab.conf packaging/modules-load.d/hugeslab.conf \
		   packaging/hugeslab-memlock.conf packaging/limits.d/hugeslab.conf
DOCS		:= $(wildcard README.md Documentation/hugeslab/admin-guide.rst)

# Whether userspace/Makefile installs the library itself.
LIB_HAS_INSTALL	:= $(shell grep -qsE '^install[[:space:]]*:' userspace/Makefile && echo y)

# Their Makefiles own names like LIBDIR (where libhugeslab.a is found): do not
# pass our command-line directory variables down.
tools: MAKEOVERRIDES :=
tools:
	@for d in $(TOOL_DIRS); do $(MAKE) -C $$d || exit 1; done

install-stage: $(if $(filter yes,$(INSTALL_MODULE)),module) lib tools
	rm -rf $(S)
	mkdir -p $(S)
ifeq ($(INSTALL_MODULE),yes)
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates \
		INSTALL_MOD_PATH=$(S) CONFIG_MODULE_SIG_ALL= DEPMOD=true modules_install
endif
ifeq ($(LIB_HAS_INSTALL),y)
	$(MAKE) -C userspace install DESTDIR=$(S) PREFIX=$(PREFIX) \
		LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR) PKGCONFIGDIR=$(PKGCONFIGDIR)
else
	@# Until userspace/Makefile has an install target: its build outputs.
	install -d $(S)$(LIBDIR) $(S)$(INCLUDEDIR) $(S)$(PKGCONFIGDIR)
	cp -P userspace/build/libhugeslab.so* $(S)$(LIBDIR)/
	install -m 0644 userspace/build/libhugeslab.a $(S)$(LIBDIR)/
	install -m 0644 userspace/include/*.h $(S)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(shell sed -n 's/^VERSION[[:space:]]*:=[[:space:]]*//p' userspace/Makefile)|' \
	    userspace/hugeslab.pc.in >$(S)$(PKGCONFIGDIR)/hugeslab.pc
endif
	install -D -m 0644 -t $(S)$(INCLUDEDIR)/linux include/uapi/linux/*.h
	$(if $(HUGESLABCTL),install -D -m 0755 $(HUGESLABCTL) $(S)$(SBINDIR)/hugeslabctl)
	$(if $(HUGESLAB_SINK),install -D -m 0755 $(HUGESLAB_SINK) $(S)$(BINDIR)/hugeslab-sink)
	$(if $(HUGESLAB_SOURCE),install -D -m 0755 $(HUGESLAB_SOURCE) $(S)$(BINDIR)/hugeslab-source)
	$(if $(HUGESLAB_NBD),install -D -m 0755 $(HUGESLAB_NBD) $(S)$(SBINDIR)/hugeslab-nbd)
	install -D -m 0644 udev/60-hugeslab.rules $(S)$(UDEVDIR)/60-hugeslab.rules
	@set -e; for m in $(MAN_PAGES); do \
		sec=$${m##*.}; \
		echo "install -D -m 0644 $$m $(S)$(MANDIR)/man$$sec/$${m##*/}"; \
		install -D -m 0644 $$m $(S)$(MANDIR)/man$$sec/$${m##*/}; \
	done
	install -d $(S)$(DOCDIR)/examples/modprobe.d $(S)$(DOCDIR)/examples/modules-load.d \
		$(S)$(DOCDIR)/examples/systemd $(S)$(DOCDIR)/examples/limits.d
	install -m 0644 packaging/hugeslab.conf $(S)$(DOCDIR)/examples/modprobe.d/hugeslab.conf
	install -m 0644 packaging/modules-load.d/hugeslab.conf \
		$(S)$(DOCDIR)/examples/modules-load.d/hugeslab.conf
	install -m 0644 packaging/hugeslab-memlock.conf $(S)$(DOCDIR)/examples/systemd/hugeslab-memlock.conf
	install -m 0644 packaging/hugeslab-nbd.service $(S)$(DOCDIR)/examples/systemd/hugeslab-nbd.service
	install -m 0644 packaging/hugeslab-pools.service packaging/pools.conf $(S)$(DOCDIR)/examples/systemd/
	install -m 0644 packaging/limits.d/hugeslab.conf $(S)$(DOCDIR)/examples/limits.d/hugeslab.conf
	install -m 0644 $(DOCS) $(S)$(DOCDIR)/

install: install-stage
	@test -n "$(DESTDIR)" || test -w / || { echo "make install: run as root or set DESTDIR=" >&2; exit 1; }
	install -d $(DESTDIR)/ $(S)$(dir $(MANIFEST))
	@# The manifest: absolute paths of the files and links installed, merged
	@# with an earlier install's.
	{ (cd $(S) && find . ! -type d | sed 's|^\.||'); \
	  echo $(MANIFEST); \
	  cat $(DESTDIR)$(MANIFEST) 2>/dev/null; } | sort -u >$(S)$(MANIFEST)
	@# --no-overwrite-dir: existing directories (/usr/local, /lib/modules/...)
	@# keep their owner and mode.
	@# --keep-directory-symlink: /lib -> usr/lib on merged-/usr systems.
	tar -C $(S) -cf - . | tar -C $(DESTDIR)/ -xf - --no-overwrite-dir \
		--keep-directory-symlink --no-same-owner
ifeq ($(DESTDIR),)
	ldconfig
	-udevadm control --reload 2>/dev/null
	@getent group hugeslab >/dev/null || echo "make install: create the device's group:" \
		"groupadd --system hugeslab (see Documentation/hugeslab/admin-guide.rst)"
endif
ifeq ($(INSTALL_MODULE)$(DESTDIR),yes)
	$(DEPMOD) -a $(KVER)
	@if [ -d /var/lib/dkms/hugeslab ]; then echo "make install: warning: DKMS also" \
		"installs hugeslab; use one route for the module: dkms remove" \
		"hugeslab --all, or make uninstall && make install INSTALL_MODULE=no" >&2; fi
else ifeq ($(INSTALL_MODULE),yes)
	$(DEPMOD) -b $(DESTDIR) $(KVER)
endif

# Removes the manifest's entries. depmod runs again for every kernel whose
# module was removed; in a DESTDIR whose module tree is left without any
# module, the index files depmod made are removed instead.
uninstall:
	@test -f $(DESTDIR)$(MANIFEST) || { echo "make uninstall: no" \
		"$(DESTDIR)$(MANIFEST): nothing was installed there" >&2; exit 1; }
	@set -e; kvers=$$(sed -n 's|^/lib/modules/\([^/]*\)/.*|\1|p' $(DESTDIR)$(MANIFEST) | sort -u); \
	while IFS= read -r f; do \
		case $$f in /*) ;; *) continue ;; esac; \
		if [ -e "$(DESTDIR)$$f" ] || [ -L "$(DESTDIR)$$f" ]; then \
			echo "rm $(DESTDIR)$$f"; rm -f "$(DESTDIR)$$f"; \
		fi; \
	done <$(DESTDIR)$(MANIFEST); \
	for k in $$kvers; do \
		m=$(DESTDIR)/lib/modules/$$k; \
		[ -d $$m ] || continue; \
		if [ -z "$(DESTDIR)" ]; then \
			echo "$(DEPMOD) -a $$k"; $(DEPMOD) -a $$k; \
		elif find $$m -name '*.ko*' | grep -q .; then \
			echo "$(DEPMOD) -b $(DESTDIR) $$k"; $(DEPMOD) -b $(DESTDIR) $$k; \
		else \
			rm -f $$m/modules.*; \
		fi; \
	done
	@# Directories that only hugeslab uses, when empty.
	@rmdir $(DESTDIR)$(DOCDIR)/examples/* $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/hugeslab 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ]; then ldconfig; fi

version:
	@echo $(HS_VERSION)

# The source tree DKMS builds from (dkms.conf, Kbuild, module/, include/).
install-dkms-src:
	install -D -m 0644 -t $(DESTDIR)$(DKMSSRCDIR) Kbuild
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(HS_VERSION)"/' dkms.conf \
		>$(DESTDIR)$(DKMSSRCDIR)/dkms.conf
	install -D -m 0644 -t $(DESTDIR)$(DKMSSRCDIR)/module module/*.[ch]
	install -D -m 0644 -t $(DESTDIR)$(DKMSSRCDIR)/include/uapi/linux \
		include/uapi/linux/*.h
	@echo "now: dkms install hugeslab/$(HS_VERSION)   (or -k KVER for another kernel)"

.PHONY: tools install-stage install uninstall install-dkms-src version
