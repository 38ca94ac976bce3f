#!/usr/bin/env bash
# What the device tiers need beyond npm install, made by npm test itself where
# this machine allows (root, Debian), so a newcomer's `npm install && npm test`
# runs every tier it can: lwIP for the lwip tier (lwip/install.sh: seconds once
# built), and Debian's headless Chromium for the page's and dashboard's browser
# tests. What cannot be made here is said in one line, and the tiers or cases
# that need it print their own skipped line; this script never fails the run.
cd "$(dirname "$0")/.." || exit 0
moddable="${MODDABLE:-$HOME/Projects/moddable}"
if [ -f "$moddable/modules/io/socket/lwip/tcp.c" ]; then
	lwip/install.sh || echo "tests/prepare.sh: lwIP could not be built here; the lwip tier will be skipped" >&2
fi
if ! command -v chromium-headless-shell >/dev/null && ! command -v chromium >/dev/null; then
	if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
		echo "tests/prepare.sh: installing Debian's chromium-headless-shell for the browser tests (once)" >&2
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null 2>&1; }; } ||
			echo "tests/prepare.sh: chromium-headless-shell could not be installed; the browser tests will be skipped" >&2
	fi
fi
exit 0
