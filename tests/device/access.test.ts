// Who gets in, on the device: with wsKey set, the log and broadcast routes
// refuse a client without the key (401) and serve one that gives it by
// header, by subprotocol or in the URL; a wrong key makes its address wait
// (429); the echo stays open; and the boot log lists every listening service
// with whether it needs a key.
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { closed, nextMessage, openWs } from "../../host-harness/oracle/ws-echo.js";
import { hasLog, tiers, useDevice } from "./device-under-test.js";

const KEY = "s3cret-key.42";
const BROADCAST = "/broadcast";

// The lwip tier runs the suite on a device of its own; a board only when flashed with a key.
const covered = (t: (typeof tiers)[number]) => t.target !== "board" || t.name === "lwip" || !!t.board?.config.wsKey;
for (const tier of tiers.filter(t => !covered(t))) console.log(`access suite on ${tier.name} skipped: its config has no wsKey`);

/** The HTTP status an upgrade is refused with, and its headers; 101 when it opened. */
function attempt(
	url: string,
	options: WebSocket.ClientOptions = {},
	protocols: string[] = [],
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; protocol?: string }> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url, protocols, { handshakeTimeout: 10_000, ...options });
		socket.on("unexpected-response", (_request, response) => {
			socket.terminate();
			resolve({ status: response.statusCode ?? 0, headers: response.headers });
		});
		socket.on("open", () => {
			const protocol = socket.protocol;
			socket.close(1000);
			resolve({ status: 101, headers: {}, protocol });
		});
		socket.on("error", e => reject(e));
	});
}

describe.each(tiers.filter(covered))("access keys on $name", tier => {
	const device = useDevice(tier, { wsKey: KEY, wsBroadcastPath: BROADCAST }, { ownLwip: true });
	const url = (path: string) => device.endpoints.ws!.replace(/\/[^/]*$/, path);
	const logPath = () => "/log"; // the default wsLogPath

	it.runIf(hasLog(tier))("says at boot what listens, and that the log and broadcast need a key", async () => {
		const lines = device.process!.log.map(line => line.raw);
		const listening = lines.filter(line => / app: listening: /.test(line));
		expect(listening.some(line => /WebSocket echo \/ws, port \d+, open to anyone, no TLS$/.test(line))).toBe(true);
		expect(listening.some(line => new RegExp(`WebSocket log ${logPath()}, port \\d+, key needed, no TLS$`).test(line))).toBe(true);
		expect(listening.some(line => /WebSocket broadcast \/broadcast, port \d+, key needed, no TLS$/.test(line))).toBe(true);
		expect(lines.some(line => /W \(\d+\) app: WebSocket (log|broadcast) .* open to anyone/.test(line))).toBe(false);
		expect(
			lines.some(line => line.includes(KEY)),
			"the key is never logged",
		).toBe(false);
	});

	it("refuses the keyed routes without a key (401, WWW-Authenticate: Bearer); the echo stays open", async () => {
		for (const path of [logPath(), BROADCAST]) {
			const refused = await attempt(url(path));
			expect(refused.status, path).toBe(401);
			expect(refused.headers["www-authenticate"]).toBe("Bearer");
		}
		const echo = await openWs(device.endpoints.ws!);
		echo.send("open to all");
		expect(String((await nextMessage(echo)).data)).toBe("open to all");
		echo.close(1000);
		await closed(echo);
	});

	it("serves a client that gives the key by Authorization header, by bearer. subprotocol, or in the URL", async () => {
		expect((await attempt(url(logPath()), { headers: { Authorization: `Bearer ${KEY}` } })).status).toBe(101);
		const byProtocol = await attempt(url(BROADCAST), {}, [`bearer.${KEY}`]);
		expect(byProtocol).toMatchObject({ status: 101, protocol: `bearer.${KEY}` });
		expect((await attempt(`${url(logPath())}?key=${encodeURIComponent(KEY)}`)).status).toBe(101);
		// The log follows: a line logged after the follower opened reaches it.
		const follower = await openWs(url(logPath()), { headers: { Authorization: `Bearer ${KEY}` } });
		const line = nextMessage(follower);
		const echo = await openWs(device.endpoints.ws!); // its handshake is logged
		expect(String((await line).data)).toMatch(/ws-server: /);
		echo.terminate();
		follower.close(1000);
		await closed(follower);
	});

	it("makes an address that gave a wrong key wait (429, Retry-After), then serves the right key", async () => {
		expect((await attempt(url(logPath()), { headers: { Authorization: "Bearer wrong-key-000" } })).status).toBe(401);
		const slowed = await attempt(url(logPath()), { headers: { Authorization: `Bearer ${KEY}` } });
		expect(slowed.status, "even the right key waits its turn").toBe(429);
		const wait = Number(slowed.headers["retry-after"]);
		expect(wait).toBeGreaterThanOrEqual(1);
		await new Promise(resolve => setTimeout(resolve, wait * 1000 + 200));
		expect((await attempt(url(logPath()), { headers: { Authorization: `Bearer ${KEY}` } })).status).toBe(101);
	});
});
