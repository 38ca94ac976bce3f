// modules/secure-socket.ts loadCa(): the CA a config value names, inline
// (base64:<DER>) or a resource (DER or PEM; on node the files of
// XSNK_HOST_RESOURCES stand for the app's resources), and a clear error for
// anything else. The TLS connections themselves are judged by the device
// suites (tests/device/*-tls.test.ts).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCa } from "modules/secure-socket";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeTestPki, opensslMissing, type TestPki } from "../../host-harness/lib/tls-certs.js";

const missing = opensslMissing();

describe.skipIf(Boolean(missing))("loadCa", () => {
	let pki: TestPki;
	let dir: string;
	beforeAll(() => {
		pki = makeTestPki();
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-resources-"));
		fs.writeFileSync(path.join(dir, "ca.der"), pki.caDer);
		fs.writeFileSync(path.join(dir, "ca.pem"), pki.caPem);
		fs.writeFileSync(path.join(dir, "notes.txt"), "not a certificate at all, but long enough to be read as one".repeat(2));
	});
	afterEach(() => {
		delete process.env.XSNK_HOST_RESOURCES;
	});

	it("reads base64:<DER> inline", () => {
		expect(Buffer.from(loadCa(pki.caConfig))).toEqual(pki.caDer);
	});

	it("reads a resource holding the certificate as DER or as PEM", () => {
		process.env.XSNK_HOST_RESOURCES = dir;
		expect(Buffer.from(loadCa("ca.der"))).toEqual(pki.caDer);
		expect(Buffer.from(loadCa("ca.pem"))).toEqual(pki.caDer);
	});

	it("says what is wrong with a missing resource or one that is no certificate", () => {
		process.env.XSNK_HOST_RESOURCES = dir;
		expect(() => loadCa("nowhere.der")).toThrow(/no resource "nowhere.der" in the app/);
		expect(() => loadCa("notes.txt")).toThrow(/is not a DER or PEM certificate/);
		expect(() => loadCa("base64:aGVsbG8=")).toThrow(/is not a DER or PEM certificate/);
	});
});
