// WiFi in one call (wifi/network), on the Node host's WiFi model (a test
// double: host-harness/node-host/wifi.ts fails and drops on demand, which
// no real access point does): start runs once at the first address; across
// drops nothing more, or the stop/start pair when stop is given; saved
// credentials are joined; with none, or after the quick retries before any
// address, the provisioning page opens, and closes at the address.
import { afterEach, describe, expect, it } from "vitest";
import type { PreferenceStore } from "wifi/credentials";
import { joinNetwork, type Network, type NetworkOptions } from "wifi/network";
import { currentWiFi, wifiFaults } from "../../host-harness/node-host/wifi.js";

const station = { ssid: "unit-net", password: "", retries: 2, retryDelay: 10, backoffMax: 40, connectTimeout: 1000 };

/** Preferences in memory (Moddable's `preference` as the credentials use it). */
function memoryPreferences(): PreferenceStore & { values: Map<string, unknown> } {
	const values = new Map<string, unknown>();
	return {
		values,
		get: (domain, key) => values.get(`${domain}/${key}`),
		set: (domain, key, value) => {
			values.set(`${domain}/${key}`, value);
		},
		delete: (domain, key) => {
			values.delete(`${domain}/${key}`);
		},
	};
}

/** What the app's start and stop were called with, in order. */
function recorder() {
	const calls: string[] = [];
	return {
		calls,
		start: (address: string) => {
			calls.push(`start ${address}`);
		},
		stop: (reason: string) => {
			calls.push(`stop ${reason}`);
		},
	};
}

async function until(what: string, test: () => boolean, ms = 3000): Promise<void> {
	const end = Date.now() + ms;
	while (!test()) {
		if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
		await new Promise(r => setTimeout(r, 5));
	}
}

describe("joinNetwork (wifi/network)", () => {
	let network: Network | undefined;
	const join = (options: NetworkOptions) => (network = joinNetwork(options));
	afterEach(() => {
		network?.portal?.running && network.portal.stop();
		network?.station.stop();
		network = undefined;
		Object.assign(wifiFaults, { step: 100, joinFailures: 0, dhcpDelay: 0, apDown: false });
	});

	it("runs start once at the first address, and not again across drops (servers keep listening)", async () => {
		wifiFaults.step = 5;
		const app = recorder();
		join({ station, start: app.start });
		await until("the first start", () => app.calls.length === 1);
		expect(app.calls).toEqual(["start 127.0.0.1"]);
		for (let drop = 1; drop <= 3; drop++) {
			currentWiFi()!.drop();
			expect(network!.station.state).not.toBe("got-ip");
			await until(`the address back after drop ${drop}`, () => network!.station.state === "got-ip");
		}
		expect(app.calls).toEqual(["start 127.0.0.1"]);
		expect(network!.online).toBe(true);
	});

	it("with stop: a stop/start pair at each drop, in order, the reason given", async () => {
		wifiFaults.step = 5;
		const app = recorder();
		join({ station, start: app.start, stop: app.stop });
		await until("the first start", () => app.calls.length === 1);
		for (let drop = 1; drop <= 3; drop++) {
			currentWiFi()!.drop();
			await until(`start after drop ${drop}`, () => app.calls.length === 1 + 2 * drop);
		}
		expect(app.calls).toEqual(["start 127.0.0.1", ...Array(3).fill(["stop disconnected", "start 127.0.0.1"]).flat()]);
	});

	it("waits through failed joins: start only at the address", async () => {
		Object.assign(wifiFaults, { step: 5, joinFailures: 4 });
		const app = recorder();
		join({ station, start: app.start });
		await until("start", () => app.calls.length === 1);
		expect(network!.station.failures).toBe(0); // reset by the address
		expect(app.calls).toEqual(["start 127.0.0.1"]);
	});

	it("joins the credentials saved on the device when none are configured", async () => {
		wifiFaults.step = 5;
		const preferences = memoryPreferences();
		preferences.set("wifi", "ssid", "saved-net");
		preferences.set("wifi", "password", "saved-pass");
		const app = recorder();
		join({ station: { ...station, ssid: "" }, portal: { port: 0, ssid: "unit-ap" }, preferences, start: app.start });
		await until("start", () => app.calls.length === 1);
		expect(network!.station.options.ssid).toBe("saved-net");
		expect(network!.portal).toBeUndefined(); // never needed: never made
	});

	it("with none known, opens the provisioning page; credentials entered there are joined, and the page closes at the address", async () => {
		wifiFaults.step = 5;
		const preferences = memoryPreferences();
		const app = recorder();
		join({ station: { ...station, ssid: "" }, portal: { port: 0, ssid: "unit-ap" }, preferences, start: app.start });
		expect(network!.portal!.running).toBe(true);
		expect(app.calls).toEqual([]);
		network!.portal!.onCredentials({ ssid: "entered-net", password: "entered-pass" }); // what the page does once it saved them
		await until("start", () => app.calls.length === 1);
		expect(network!.portal!.running).toBe(false);
		expect(network!.station.options.ssid).toBe("entered-net");
	});

	it("opens the page when the quick retries are used up before any address, and not after one", async () => {
		Object.assign(wifiFaults, { step: 5, joinFailures: 3 });
		const app = recorder();
		join({ station, portal: { port: 0, ssid: "unit-ap" }, preferences: memoryPreferences(), start: app.start });
		await until("the page, after 2 failed joins", () => network!.portal?.running === true);
		await until("start, at the third join", () => app.calls.length === 1);
		expect(network!.portal!.running).toBe(false);
		// Once online, used-up retries leave the page shut: the device had a working network.
		Object.assign(wifiFaults, { joinFailures: 3 });
		currentWiFi()!.drop();
		await until("back after the failures", () => network!.station.state === "got-ip");
		expect(network!.portal!.running).toBe(false);
	});

	it("without preferences and without a network configured, joins nothing and opens no page", () => {
		const app = recorder();
		join({ station: { ...station, ssid: "" }, start: app.start });
		expect(network!.station.running).toBe(false);
		expect(network!.portal).toBeUndefined();
	});
});
