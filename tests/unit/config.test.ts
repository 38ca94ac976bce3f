import { readConfig as readWith, schema } from "app/config-schema";
import { describe, expect, it } from "vitest";
import { parseWebSocketUri } from "websocket/uri";

const readConfig = (raw: Record<string, unknown>) => readWith(raw, parseWebSocketUri);

describe("app/config", () => {
	it("gives every key its default when nothing is set", () => {
		const { config, problems } = readConfig({});
		expect(problems).toEqual([]);
		for (const [key, spec] of Object.entries(schema)) expect(config[key as keyof typeof schema]).toBe(spec.default);
	});

	it("parses mcconfig strings into the key's kind", () => {
		const { config, problems } = readConfig({ tcpPort: "7681", tcpServer: "false", udpServer: "1", wsPath: "/echo" });
		expect(problems).toEqual([]);
		expect(config.tcpPort).toBe(7681);
		expect(config.tcpServer).toBe(false);
		expect(config.udpServer).toBe(true);
		expect(config.wsPath).toBe("/echo");
	});

	it("accepts typed manifest values", () => {
		const { config, problems } = readConfig({ tcpPort: 9001, tcpServer: true });
		expect(problems).toEqual([]);
		expect(config.tcpPort).toBe(9001);
	});

	it("names the key of each bad value and keeps the default", () => {
		const { config, problems } = readConfig({ tcpPort: "80a", udpPort: "70000", tcpMaxClients: "0", tcpServer: "maybe" });
		expect(problems.map(p => p.key).sort()).toEqual(["tcpMaxClients", "tcpPort", "tcpServer", "udpPort"]);
		expect(problems.find(p => p.key === "udpPort")!.message).toMatch(/70000/);
		expect(config.tcpPort).toBe(8080);
	});

	it("refuses TLS without a CA: wss:// without wsClientCa, tcpClientTls without tcpClientCa", () => {
		expect(readConfig({ wsClient: "true", wsClientUri: "wss://example.com/" }).problems.map(p => p.key)).toEqual(["wsClientCa"]);
		expect(readConfig({ wsClient: "true", wsClientUri: "wss://example.com/", wsClientCa: "ca.der" }).problems).toEqual([]);
		expect(readConfig({ tcpClient: "true", tcpClientHost: "10.0.0.2", tcpClientTls: "true" }).problems.map(p => p.key)).toEqual(["tcpClientCa"]);
		expect(readConfig({ tcpClient: "true", tcpClientHost: "10.0.0.2", tcpClientTls: "true", tcpClientCa: "base64:MIIB" }).problems).toEqual([]);
	});

	it("refuses a client role with no peer", () => {
		expect(readConfig({ tcpClient: "true" }).problems.map(p => p.key)).toEqual(["tcpClientHost"]);
		expect(readConfig({ wsClient: "true", wsClientUri: "http://x" }).problems.map(p => p.key)).toEqual(["wsClientUri"]);
		expect(readConfig({ wsClient: "true", wsClientUri: "ws://10.0.0.2:5000/" }).problems).toEqual([]);
	});

	it("parses the WebSocket client's URI fully, so a URI it accepts never throws later (port 70000 is a problem, not an abort)", () => {
		const bad = readConfig({ wsClient: "true", wsClientUri: "ws://127.0.0.1:70000/" }).problems;
		expect(bad.map(p => p.key)).toEqual(["wsClientUri"]);
		expect(bad[0].message).toMatch(/invalid port 70000/);
		for (const uri of ["ws://127.0.0.1:0/", "ws://host:port/", "ws://a b/", "ws://[::1]/"])
			expect(
				readConfig({ wsClient: "true", wsClientUri: uri }).problems.map(p => p.key),
				uri,
			).toEqual(["wsClientUri"]);
		expect(parseWebSocketUri("ws://example.com:8080/chat?x=1")).toEqual({
			secure: false,
			host: "example.com",
			port: 8080,
			path: "/chat?x=1",
			hostHeader: "example.com:8080",
		});
		expect(parseWebSocketUri("wss://example.com")).toEqual({ secure: true, host: "example.com", port: 443, path: "/", hostHeader: "example.com" });
	});

	it("refuses udpPort 0: a platform's UDP socket does not say which port it took, so it could not be reported", () => {
		expect(readConfig({ udpPort: "0" }).problems).toEqual([{ key: "udpPort", message: expect.stringMatching(/^0 \(any port\) cannot be used for UDP/) }]);
		expect(readConfig({ udpPort: "0", udpServer: "false" }).problems).toEqual([]);
	});
});
