# SPDX-License-Identifier: GPL-2.0
#
# hugeslab: user-facing targets. The module itself is described by Kbuild.
#
#   make                 module for the running kernel (or KVER=/KDIR=) + library
#   make check           everything: builds for 6.1 and 6.12, checkpatch, VM
#                        selftests on both kernels, library tests
#   sudo make install    module into /lib/modules/$(KVER)/updates, udev rule

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

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	install -D -m 0644 udev/60-hugeslab.rules $(DESTDIR)$(UDEVDIR)/60-hugeslab.rules
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	rm -rf build

.PHONY: all module lib check install clean
