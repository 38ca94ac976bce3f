/*
 * A test PKI made at run time with the openssl command (Debian package
 * `openssl`): a CA, and server certificates it issues for the peers of
 * `serve --tls` and the TLS suites. No private key is ever committed or
 * left on disk: openssl works in a private temporary folder, removed
 * before this returns; keys live in this process's memory only.
 *
 * What the device's TLS engine needs (modules/tls-socket.ts): RSA keys
 * (its cipher suites are ECDHE_RSA, DHE_RSA, RSA), SHA-256 signatures, the
 * host name or IPv4 address in a subjectAltName. The server sends its
 * certificate followed by the CA's (chain), as most servers do.
 *
 * Besides the good certificate, the ones the failure cases need: issued by
 * another CA, for another name, expired (validity set with `openssl ca
 * -startdate/-enddate`; `openssl x509` of OpenSSL 3.0 cannot backdate).
 */

import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ServerCredentials {
	/** PEM private key. */
	key: string;
	/** PEM: the server's certificate, then its issuer's. */
	cert: string;
}

export interface TestPki {
	/** The CA's certificate, PEM and DER. */
	caPem: string;
	caDer: Buffer;
	/** The device's config value for it (wsClientCa, tcpClientCa): base64:<DER>. */
	caConfig: string;
	/** Valid now, for the names asked (localhost and 127.0.0.1 always). */
	server: ServerCredentials;
	/** The same names, issued by another CA. */
	otherCa: ServerCredentials;
	/** That certificate followed by our CA's: what the SDK's own check accepted (modules/tls-chain.ts). */
	forgedChain: ServerCredentials;
	/** The good certificate sent alone, without the CA's after it (which the SDK's own check refused). */
	leafOnly: ServerCredentials;
	/** A certificate for the right names signed by the good server certificate (not a CA), sent with it and our CA's. */
	issuedByServer: ServerCredentials;
	/** Valid, from our CA, for another name only (wrong.invalid). */
	wrongName: ServerCredentials;
	/** From our CA, for the right names, expired in 2020. */
	expired: ServerCredentials;
}

export interface PkiOptions {
	/** Extra DNS names for the server certificate. */
	names?: string[];
	/** Extra IPv4 addresses for it (serve --tls: this PC's LAN addresses). */
	addresses?: string[];
}

/** openssl on PATH, or a sentence saying it is missing. */
export function opensslMissing(): string | undefined {
	try {
		execFileSync("openssl", ["version"], { stdio: "ignore" });
		return undefined;
	} catch {
		return "the openssl command is not installed (Debian: apt-get install openssl)";
	}
}

function openssl(dir: string, args: string[]): void {
	try {
		execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
	} catch (e) {
		const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
		throw new Error(`openssl ${args[0]} failed: ${stderr || (e as Error).message}`);
	}
}

/** YYYYMMDDHHMMSSZ, as openssl ca -startdate/-enddate take it. */
function stamp(time: number): string {
	return new Date(time).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

const opensslCaConfig = `[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial.txt
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
`;

export function makeTestPki(options: PkiOptions = {}): TestPki {
	const missing = opensslMissing();
	if (missing) throw new Error(missing);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xsnk-pki-"));
	try {
		const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
		const read = (name: string) => fs.readFileSync(path.join(dir, name), "latin1");
		write("ca.cnf", opensslCaConfig);
		write("index.txt", "");
		write("serial.txt", "1000\n");

		const makeCa = (name: string, subject: string) =>
			openssl(dir, [
				"req",
				"-x509",
				"-newkey",
				"rsa:2048",
				"-nodes",
				"-sha256",
				"-keyout",
				`${name}.key`,
				"-out",
				`${name}.pem`,
				"-days",
				"30",
				"-subj",
				subject,
				"-addext",
				"basicConstraints=critical,CA:TRUE",
				"-addext",
				"keyUsage=critical,keyCertSign,cRLSign",
			]);
		makeCa("ca", "/CN=xs-netkit test CA");
		makeCa("other", "/CN=xs-netkit other CA");
		// One server key for every certificate: what differs is what the certificates say.
		openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=xs-netkit test server"]);

		const names = ["localhost", ...(options.names ?? [])];
		const addresses = ["127.0.0.1", ...(options.addresses ?? [])];
		const san = [...names.map(n => `DNS:${n}`), ...addresses.map(a => `IP:${a}`)].join(",");
		const now = Date.now();
		const issue = (out: string, ca: string, alt: string, from: number, to: number) => {
			write(
				`${out}.ext`,
				`subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
			);
			openssl(dir, [
				"ca",
				"-batch",
				"-config",
				"ca.cnf",
				"-cert",
				`${ca}.pem`,
				"-keyfile",
				`${ca}.key`,
				"-in",
				"server.csr",
				"-out",
				`${out}.pem`,
				"-notext",
				"-startdate",
				stamp(from),
				"-enddate",
				stamp(to),
				"-extfile",
				`${out}.ext`,
			]);
			return { key: read("server.key"), cert: read(`${out}.pem`) + read(`${ca}.pem`) };
		};
		const hour = 3600_000;
		const server = issue("server", "ca", san, now - hour, now + 7 * 24 * hour);
		const otherCa = issue("other-server", "other", san, now - hour, now + 7 * 24 * hour);
		const wrongName = issue("wrong-name", "ca", "DNS:wrong.invalid", now - hour, now + 7 * 24 * hour);
		const expired = issue("expired", "ca", san, Date.UTC(2020, 0, 1), Date.UTC(2020, 1, 1));

		const caPem = read("ca.pem");
		const caDer = Buffer.from(new X509Certificate(caPem).raw);
		const forgedChain = { key: otherCa.key, cert: read("other-server.pem") + caPem };
		const leafOnly = { key: server.key, cert: read("server.pem") };
		// The server's key signs a certificate of its own (openssl ca -cert server.pem -keyfile server.key).
		const byServer = issue("by-server", "server", san, now - hour, now + 7 * 24 * hour);
		const issuedByServer = { key: byServer.key, cert: read("by-server.pem") + read("server.pem") + caPem };
		return { caPem, caDer, caConfig: `base64:${caDer.toString("base64")}`, server, otherCa, forgedChain, leafOnly, issuedByServer, wrongName, expired };
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * The device's config for serving TLS with these credentials (wsTls,
 * wsTlsCertificate, wsTlsKey; modules/tls-credentials): each certificate
 * of the chain and the PKCS #8 key inline as base64:<DER>.
 */
export function deviceTlsConfig(credentials: ServerCredentials): Record<string, string> {
	const certificates = credentials.cert.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
	const key = createPrivateKey(credentials.key).export({ format: "der", type: "pkcs8" });
	return {
		wsTls: "true",
		wsTlsCertificate: certificates.map(pem => `base64:${Buffer.from(new X509Certificate(pem).raw).toString("base64")}`).join(","),
		wsTlsKey: `base64:${key.toString("base64")}`,
	};
}
