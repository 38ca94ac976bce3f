// readBytes (host-harness/oracle/tcp-echo.ts) over a real loopback socket: exact counts out of one burst,
// the surplus kept for the next read, not re-emitted to the reader that put it back.
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { connect, readBytes } from "../../host-harness/oracle/tcp-echo.js";

let server: net.Server | undefined;
let client: net.Socket | undefined;

afterEach(async () => {
	client?.destroy();
	await new Promise(resolve => (server ? server.close(resolve) : resolve(undefined)));
	server = client = undefined;
});

/** A server that writes `bytes` in one write to each client, then leaves the connection open. */
async function serverWriting(bytes: Buffer): Promise<number> {
	server = net.createServer(socket => socket.write(bytes));
	await new Promise<void>(resolve => server!.listen(0, "127.0.0.1", resolve));
	return (server.address() as net.AddressInfo).port;
}

describe("readBytes", () => {
	it("splits one burst into exact reads, in order, the surplus waiting for the next read", async () => {
		const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
		client = await connect({ host: "127.0.0.1", port: await serverWriting(bytes) });
		const first = await readBytes(client, 10);
		// The surplus waits while nothing reads, then comes to the next reader.
		await new Promise(resolve => setTimeout(resolve, 50));
		const second = await readBytes(client, 30);
		const rest = await readBytes(client, 60);
		expect([...Buffer.concat([first, second, rest])]).toEqual([...bytes]);
		expect([first.length, second.length, rest.length]).toEqual([10, 30, 60]);
	});

	it("fails with the count it had when the connection closes first", async () => {
		server = net.createServer(socket => socket.end(Buffer.alloc(5)));
		await new Promise<void>(resolve => server!.listen(0, "127.0.0.1", resolve));
		client = await connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port });
		await expect(readBytes(client, 10)).rejects.toThrow(/closed after 5 of 10 bytes/);
	});
});
