/*
 * Replaces the SDK's `setup/network` on esp32.
 *
 * `$(MODDABLE)/modules/io/manifest.json` (which brings the ECMA-419 sockets)
 * also preloads the SDK's own `setup/network`, which joins WiFi before `main`
 * runs and holds `main` back until an address arrives: with a wrong password
 * `main` would never run. The station is managed by wifi/station instead, so
 * this setup step only lets boot continue.
 */

export default function setupNetwork(done: () => void): void {
	done();
}
