#!/usr/bin/env bash
# Puts the SDK's lwIP sockets with the kit's fixes into build/lwip/sdk/
# (git-ignored), where both the lwip tier and the kit's esp32 build take
# embedded:io/socket/tcp (and the tier embedded:io/socket/udp) from:
#   build/lwip/sdk/tcp.c, tcp.js   $MODDABLE/modules/io/socket/lwip/tcp.*
#   build/lwip/sdk/udp.c, udp.js   $MODDABLE/modules/io/socket/lwip/udp.*
# with lwip/patches/sdk-*.patch applied (each patch says what it fixes). The
# SDK itself is never changed. Needs only the SDK and patch(1); idempotent.
# npm install runs it (postinstall, when the SDK is there), as do lwip/install.sh,
# npm run flash and the harness's esp32 build.
# --if-sdk: exit 0 quietly when there is no SDK (npm install on a machine
# that has none: the node target needs none).
# Exit 0: done. Exit 3: cannot (one line why).
set -euo pipefail
kit="$(cd "$(dirname "$0")/.." && pwd)"
out="$kit/build/lwip/sdk"
moddable="${MODDABLE:-$HOME/Projects/moddable}"
sdkSocket="$moddable/modules/io/socket/lwip"
[ -f "$sdkSocket/tcp.c" ] || [ "${1:-}" != --if-sdk ] || exit 0
[ -f "$sdkSocket/tcp.c" ] || { echo "lwip/sdk-sockets.sh: no Moddable SDK at $moddable (\$MODDABLE)" >&2; exit 3; }
command -v patch >/dev/null || { echo "lwip/sdk-sockets.sh: patch(1) is not installed (apt-get install patch)" >&2; exit 3; }
inputs=("$kit/lwip/sdk-sockets.sh" "$sdkSocket"/tcp.{c,js} "$sdkSocket"/udp.{c,js} "$kit"/lwip/patches/sdk-*.patch)
stamp="$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
[ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && exit 0

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$sdkSocket"/tcp.{c,js} "$sdkSocket"/udp.{c,js} "$out.tmp/"
for patch in "$kit"/lwip/patches/sdk-*.patch; do
	# -p5: a/modules/io/socket/lwip/<file> → <file>
	patch -s -p5 -d "$out.tmp" < "$patch" || { rm -rf "$out.tmp"; echo "lwip/sdk-sockets.sh: $(basename "$patch") does not apply to $sdkSocket" >&2; exit 3; }
done
echo "$stamp" > "$out.tmp/stamp"
rm -rf "$out" && mv "$out.tmp" "$out"
