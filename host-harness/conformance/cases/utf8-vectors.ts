/*
 * UTF-8 test vectors of Autobahn's cases 6.5-6.23 (after Markus Kuhn's
 * UTF-8-test.txt), each marked valid or not per RFC 3629 / Unicode table
 * 3-7: no overlongs, no surrogates (U+D800-DFFF), nothing above U+10FFFF,
 * no 5/6-byte forms, no bytes C0, C1, F5-FF. Noncharacters are valid.
 */

export interface Utf8Vector {
	id: string;
	description: string;
	hex: string;
	valid: boolean;
}

const group = (prefix: string, description: string, valid: boolean, hexes: string[]): Utf8Vector[] =>
	hexes.map((hex, i) => ({ id: `${prefix}.${i + 1}`, description, hex, valid }));

const KOSME = "cebae1bdb9cf83cebcceb5"; // "κόσμε"
const hexOf = (s: string) => Buffer.from(s).toString("hex");
const range = (from: number, to: number, then = "") =>
	Array.from({ length: to - from + 1 }, (_, i) => (from + i).toString(16).padStart(2, "0") + then).join("");

/** U+nFFFE and U+nFFFF for every plane. */
const nonCharacters = Array.from({ length: 17 }, (_, plane) => [plane * 0x10000 + 0xfffe, plane * 0x10000 + 0xffff])
	.flat()
	.map(cp => hexOf(String.fromCodePoint(cp)));

export const utf8Vectors: Utf8Vector[] = [
	...group("6.5", "valid text", true, [KOSME, hexOf("Hello-µ@ßöäüàá-UTF-8!!"), hexOf("𝄞 music"), hexOf("日本語テキスト"), hexOf("🙂👍🏽")]),
	// Prefixes of "κόσμε": valid only when they end on a code point boundary.
	...Array.from({ length: 11 }, (_, i) => ({
		id: `6.6.${i + 1}`,
		description: `first ${i + 1} B of "κόσμε"`,
		hex: KOSME.slice(0, 2 * (i + 1)),
		valid: [2, 5, 7, 9, 11].includes(i + 1),
	})),
	...group("6.7", "first code point of each length", true, ["00", "c280", "e0a080", "f0908080"]),
	...group("6.8", "first 5- and 6-byte sequences (not UTF-8)", false, ["f888808080", "fc8480808080"]),
	...group("6.9", "last code point of each length", true, ["7f", "dfbf", "efbfbf", "f48fbfbf"]),
	...group("6.10", "last 4-, 5-, 6-byte forms beyond U+10FFFF", false, ["f7bfbfbf", "fbbfbfbfbf", "fdbfbfbfbfbf"]),
	...group("6.11", "boundary code points U+D7FF, U+E000, U+FFFD, U+10FFFF", true, ["ed9fbf", "ee8080", "efbfbd", "f48fbfbf"]),
	{ id: "6.11.5", description: "U+110000, beyond Unicode", hex: "f4908080", valid: false },
	...group("6.12", "unexpected continuation bytes", false, ["80", "bf", "80bf", "80bf80", "80bf80bf", "80bf80bf80", "80bf80bf80bf", range(0x80, 0xbf)]),
	...group("6.13", "lonely start bytes, each followed by a space", false, [
		range(0xc0, 0xdf, "20"),
		range(0xe0, 0xef, "20"),
		range(0xf0, 0xf7, "20"),
		range(0xf8, 0xfb, "20"),
		range(0xfc, 0xfd, "20"),
	]),
	...group("6.14", "sequences missing their last continuation byte", false, [
		"c0",
		"e080",
		"f08080",
		"f8808080",
		"fc80808080",
		"df",
		"efbf",
		"f7bfbf",
		"fbbfbfbf",
		"fdbfbfbfbf",
	]),
	...group("6.15", "concatenated incomplete sequences", false, ["c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf"]),
	...group("6.16", "impossible bytes FE, FF", false, ["fe", "ff", "fefeffff"]),
	...group("6.17", "overlong '/'", false, ["c0af", "e080af", "f08080af", "f8808080af", "fc80808080af"]),
	...group("6.18", "maximum overlong sequences", false, ["c1bf", "e09fbf", "f08fbfbf", "f887bfbfbf", "fc83bfbfbfbf"]),
	...group("6.19", "overlong NUL", false, ["c080", "e08080", "f0808080", "f880808080", "fc8080808080"]),
	...group("6.20", "single UTF-16 surrogates", false, ["eda080", "edadbf", "edae80", "edafbf", "edb080", "edbe80", "edbfbf"]),
	...group("6.21", "paired UTF-16 surrogates", false, [
		"eda080edb080",
		"eda080edbfbf",
		"edadbfedb080",
		"edadbfedbfbf",
		"edae80edb080",
		"edae80edbfbf",
		"edafbfedb080",
		"edafbfedbfbf",
	]),
	...group("6.22", "noncharacters U+nFFFE, U+nFFFF (valid)", true, nonCharacters),
	...group("6.23", "specials U+FFF9-U+FFFF (valid)", true, ["efbfb9", "efbfba", "efbfbb", "efbfbc", "efbfbd", "efbfbe", "efbfbf"]),
];
