#!/usr/bin/env bash
# What the device tiers need beyond npm install, made by npm test itself where
# this machine allows (root, Debian), so a newcomer's `npm install && npm test`
# runs every tier it can: lwIP for the lwip tier (lwip/install.sh: seconds once
# built), Debian's headless Chromium for the page's and dashboard's browser
# tests, and Debian's ccache, through which the harness compiles the C of each
# simulator build folder (the XS engine and the SDK's modules, the same files
# in every folder: a clean checkout's builds take minutes less). What cannot
# be made here is said in one line, and the tiers or cases that need it print
# their own skipped line; this script never fails the run.
cd "$(dirname "$0")/.." || exit 0
debian_install() { # package: installed once, as root on Debian; false when it cannot be
	command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1; }
}
if ! command -v ccache >/dev/null; then
	echo "tests/prepare.sh: installing Debian's ccache for the simulator builds (once)" >&2
	debian_install ccache || echo "tests/prepare.sh: ccache could not be installed; the simulator builds compile without it" >&2
fi
moddable="${MODDABLE:-$HOME/Projects/moddable}"
if [ -f "$moddable/modules/io/socket/lwip/tcp.c" ]; then
	lwip/install.sh || echo "tests/prepare.sh: lwIP could not be built here; the lwip tier will be skipped" >&2
fi
if ! command -v chromium-headless-shell >/dev/null && ! command -v chromium >/dev/null; then
	if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
		echo "tests/prepare.sh: installing Debian's chromium-headless-shell for the browser tests (once)" >&2
		debian_install chromium-headless-shell ||
			echo "tests/prepare.sh: chromium-headless-shell could not be installed; the browser tests will be skipped" >&2
	fi
fi
exit 0
