// The TLS server's pieces that need no handshake to judge: the credentials
// config values name (modules/tls-credentials.ts; on node the files of
// XSNK_HOST_RESOURCES stand for the app's resources), and the
// renegotiation_info extension the server adds to its ServerHello
// (modules/tls-renegotiation-info.ts), against a ClientHello node:tls
// really sends. The handshakes themselves are judged by the device suite
// (tests/device/ws-server-tls.test.ts), on Moddable's engine and on node.

import { generateKeyPairSync, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { loadServerCredentials } from "modules/tls-credentials";
import { offersSecureRenegotiation, RenegotiationDigest, withRenegotiationInfo } from "modules/tls-renegotiation-info";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { deviceTlsConfig, makeTestPki, opensslMissing, type TestPki } from "../../host-harness/lib/tls-certs.js";

const missing = opensslMissing();

describe.skipIf(Boolean(missing))("loadServerCredentials", () => {
	let pki: TestPki;
	let dir: string;
	beforeAll(() => {
		pki = makeTestPki();
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-resources-"));
		fs.writeFileSync(path.join(dir, "chain.pem"), pki.server.cert);
		fs.writeFileSync(path.join(dir, "key.pem"), pki.server.key);
		fs.writeFileSync(path.join(dir, "leaf.der"), new X509Certificate(pki.server.cert).raw);
		fs.writeFileSync(path.join(dir, "rsa-pkcs1.pem"), generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }));
		fs.writeFileSync(path.join(dir, "ec.pem"), generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }));
	});
	afterEach(() => {
		delete process.env.XSNK_HOST_RESOURCES;
	});

	it("reads a PEM chain and key from resources, the server's certificate first", () => {
		process.env.XSNK_HOST_RESOURCES = dir;
		const credentials = loadServerCredentials("chain.pem", "key.pem");
		expect(credentials.certificates.map(der => new X509Certificate(Buffer.from(der)).subject)).toEqual(["CN=xs-netkit test server", "CN=xs-netkit test CA"]);
		expect(Buffer.from(credentials.key).subarray(0, 1)[0]).toBe(0x30);
	});

	it("reads base64:<DER> values, a chain as a comma-separated list, and a DER resource", () => {
		const config = deviceTlsConfig(pki.server);
		const inline = loadServerCredentials(config.wsTlsCertificate, config.wsTlsKey);
		process.env.XSNK_HOST_RESOURCES = dir;
		expect(inline).toEqual(loadServerCredentials("chain.pem", "key.pem"));
		expect(loadServerCredentials("leaf.der", "key.pem").certificates).toHaveLength(1);
	});

	it("says what is wrong: a missing resource, a PKCS #1 key, a key that is not RSA", () => {
		process.env.XSNK_HOST_RESOURCES = dir;
		expect(() => loadServerCredentials("nowhere.pem", "key.pem")).toThrow(/the TLS certificate: no resource "nowhere.pem" in the app/);
		expect(() => loadServerCredentials("chain.pem", "rsa-pkcs1.pem")).toThrow(/the TLS key: resource "rsa-pkcs1.pem" is PEM without a PRIVATE KEY block/);
		expect(() => loadServerCredentials("chain.pem", "ec.pem")).toThrow(/not an RSA key/);
		expect(() => loadServerCredentials("chain.pem", "base64:aGVsbG8=")).toThrow(/is not one unencrypted PKCS #8 key/);
	});
});

/** The first record a node:tls client sends: its ClientHello. */
async function clientHello(options: tls.ConnectionOptions = {}): Promise<Uint8Array> {
	const server = net.createServer();
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	try {
		const first = new Promise<Buffer>(resolve =>
			server.once("connection", socket => {
				let bytes = Buffer.alloc(0);
				socket.on("data", chunk => {
					bytes = Buffer.concat([bytes, chunk]);
					if (bytes.length >= 5 && bytes.length >= 5 + bytes.readUInt16BE(3)) {
						socket.destroy();
						resolve(bytes.subarray(0, 5 + bytes.readUInt16BE(3)));
					}
				});
			}),
		);
		const client = tls.connect({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, ...options });
		client.on("error", () => undefined);
		return new Uint8Array(await first);
	} finally {
		server.close();
	}
}

/** A ServerHello message (no record header) with no extensions: version, random, a session id of `id` bytes, a suite, compression. */
function serverHello(id: number): Uint8Array {
	const body = [3, 3, ...new Array(32).fill(7), id, ...new Array(id).fill(9), 0x00, 0x2f, 0];
	return new Uint8Array([2, 0, body.length >> 8, body.length & 0xff, ...body]);
}

describe("renegotiation_info (RFC 5746) in the server's ServerHello", () => {
	it("finds it offered in a ClientHello node:tls sends", async () => {
		expect(offersSecureRenegotiation(await clientHello())).toBe(true);
		expect(offersSecureRenegotiation(await clientHello({ maxVersion: "TLSv1.2" }))).toBe(true);
	});

	it("finds the signaling suite, and nothing in a ClientHello that offers neither or is not one", () => {
		// version, random, no session id, suites (0x002f and, or not, 0x00ff), null compression, no extensions.
		const hello = (suites: number[]) => {
			const body = [3, 3, ...new Array(32).fill(1), 0, 0, suites.length * 2, ...suites.flatMap(s => [s >> 8, s & 0xff]), 1, 0];
			return new Uint8Array([22, 3, 1, 0, body.length + 4, 1, 0, 0, body.length, ...body]);
		};
		expect(offersSecureRenegotiation(hello([0x2f, 0xff]))).toBe(true);
		expect(offersSecureRenegotiation(hello([0x2f]))).toBe(false);
		expect(offersSecureRenegotiation(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"))).toBe(false);
		expect(offersSecureRenegotiation(new Uint8Array(0))).toBe(false);
	});

	it("appends the empty extension to a ServerHello, lengths grown: the message alone and in its record", () => {
		const message = serverHello(8);
		const grown = withRenegotiationInfo(message, 0);
		expect([...grown.subarray(message.length)]).toEqual([0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00]);
		expect((grown[2] << 8) | grown[3]).toBe(message.length - 4 + 7);
		const record = new Uint8Array([22, 3, 3, 0, message.length, ...message]);
		const grownRecord = withRenegotiationInfo(record, 5);
		expect((grownRecord[3] << 8) | grownRecord[4]).toBe(message.length + 7);
		expect([...grownRecord.subarray(5)]).toEqual([...grown]);
	});

	it("leaves alone what is no ServerHello, or one that has extensions already", () => {
		const certificate = new Uint8Array([11, 0, 0, 3, 0, 0, 0]);
		expect(withRenegotiationInfo(certificate, 0)).toBe(certificate);
		const once = withRenegotiationInfo(serverHello(0), 0);
		expect(withRenegotiationInfo(once, 0)).toBe(once);
	});

	it("hashes the ServerHello as it is sent, and every other message as it is", () => {
		const written: number[][] = [];
		const digest = new RenegotiationDigest({
			write: data => written.push([...new Uint8Array(data instanceof Uint8Array ? data : new Uint8Array(data))]),
			close: () => new ArrayBuffer(32),
		});
		digest.write(serverHello(0));
		digest.write(new Uint8Array([14, 0, 0, 0]));
		expect(written[0]).toEqual([...withRenegotiationInfo(serverHello(0), 0)]);
		expect(written[1]).toEqual([14, 0, 0, 0]);
		expect(digest.close(true).byteLength).toBe(32);
	});
});
