/*
 * serve --tls: a test CA and server certificate made at run time
 * (lib/tls-certs.ts, never written to disk unless --ca-out asks for the
 * CA's certificate, never a private key), the TLS gates for the peers, and
 * what to tell the device: the CA as config values and PEM.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeTestPki, type TestPki } from "../lib/tls-certs.js";
import { TlsGate } from "../peers/tls-gate.js";

export interface ServeTls {
	pki: TestPki;
	tcpGate: TlsGate;
	wsGate: TlsGate;
}

/** The PKI for this PC (localhost, its host name, 127.0.0.1 and its LAN addresses) and a gate per peer. */
export function serveTls(lan: string[], caOut?: string): ServeTls {
	const hostname = os.hostname();
	const pki = makeTestPki({ names: hostname && hostname !== "localhost" ? [hostname] : [], addresses: lan });
	if (caOut) {
		fs.mkdirSync(caOut, { recursive: true });
		fs.writeFileSync(path.join(caOut, "xsnk-test-ca.pem"), pki.caPem);
		fs.writeFileSync(path.join(caOut, "xsnk-test-ca.der"), pki.caDer);
	}
	return { pki, tcpGate: new TlsGate(pki.server), wsGate: new TlsGate(pki.server) };
}

/** Lines telling the operator how to point the device at the TLS peers. */
export function tlsInstructions(tls: ServeTls, here: string, tcpPort: number, wsPort: number, wsPath: string, caOut?: string): string[] {
	const names = ["localhost", os.hostname(), "127.0.0.1", here].filter((n, i, all) => n && all.indexOf(n) === i);
	return [
		`TLS: test CA made for this run (its key exists only in this process); the server certificate names ${names.join(", ")}`,
		`device config: tcpClient=true tcpClientHost=${here} tcpClientPort=${tcpPort} tcpClientTls=true tcpClientCa=${tls.pki.caConfig}`,
		`device config: wsClient=true wsClientUri=wss://${here}:${wsPort}${wsPath} wsClientCa=${tls.pki.caConfig}`,
		caOut
			? `CA certificate written to ${path.join(caOut, "xsnk-test-ca.pem")} and .der: add it to the manifest's resources and set wsClientCa=xsnk-test-ca.der`
			: "CA certificate (PEM; --ca-out <dir> writes it as a file for a manifest resource):",
		...(caOut ? [] : tls.pki.caPem.trim().split("\n")),
		"the CA changes every run: rebuild or reflash the device with the new value",
	];
}
