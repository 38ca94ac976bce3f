/*
 * The dashboard page, self-contained (no external script or style): an
 * overall status at the top (every service echoing, failures in the last
 * round, or stopped), each service's counters and latest round-trip time,
 * throughput and round trip over time as small charts (inline SVG, the last
 * 120 rounds), the device's log with a text filter and a level filter, the
 * XS heap figures when a debug build reports them, and links to the latest
 * conformance and bench reports. It follows /live (server.ts) and
 * reconnects if the connection drops, unless the run said it stopped.
 */

export function dashboardPage(title: string): string {
	const esc = (text: string) => text.replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} dashboard</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #212529; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
#status { color: #6c757d; font-size: .85rem; } #connection.down { color: #c92a2a; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #dee2e6; padding: .25rem .7rem; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; } td.failed.some { color: #c92a2a; font-weight: 600; }
#log { font-family: ui-monospace, monospace; font-size: .78rem; list-style: none; padding: .4rem; margin: 0; height: 22rem; overflow-y: auto; background: #f8f9fa; border: 1px solid #dee2e6; }
#log li.hidden { display: none; } #log .E { color: #c92a2a; } #log .W { color: #e67700; } #log .D { color: #868e96; } #log .harness { color: #1971c2; }
.filters { margin: .4rem 0; font-size: .85rem; } #heap { font-family: ui-monospace, monospace; font-size: .8rem; }
#overall { display: inline-block; padding: .3rem .8rem; border-radius: .3rem; font-weight: 600; margin: .3rem 0 .5rem; background: #e9ecef; }
#overall.passing { background: #d3f9d8; color: #2b8a3e; } #overall.failing { background: #ffc9c9; color: #c92a2a; } #overall.stopped { background: #e9ecef; color: #495057; }
.charts { display: flex; gap: 1.5rem; flex-wrap: wrap; } .chart { font-size: .8rem; } .chart svg { background: #f8f9fa; border: 1px solid #dee2e6; display: block; }
.legend span { margin-right: .8rem; } .legend i { display: inline-block; width: .7rem; height: .7rem; margin-right: .2rem; vertical-align: middle; }
</style></head><body>
<h1>${esc(title)}</h1>
<div id="overall">waiting for the first round</div>
<div id="status"><span id="connection">connecting…</span> · <span id="round">no round yet</span> · <span id="state"></span></div>
<h2>Services</h2>
<table id="services"><thead><tr><th>service</th><th>ok</th><th>failed</th><th>bytes</th><th>round trip</th></tr></thead><tbody></tbody></table>
<div class="charts">
<div class="chart"><div>throughput (bytes/s)</div><svg id="chart-throughput" width="420" height="120" viewBox="0 0 420 120"></svg></div>
<div class="chart"><div>round trip (ms)</div><svg id="chart-rtt" width="420" height="120" viewBox="0 0 420 120"></svg></div>
</div>
<div class="legend" id="legend"></div>
<h2>XS heap</h2>
<div id="heap">not reported: a debug build reports it (npm start -- --target sim --dashboard --heap)</div>
<h2>Log</h2>
<div class="filters"><label>filter <input id="filter" type="search" placeholder="text or tag"></label>
<label>level <select id="level"><option value="D">all</option><option value="I">info and above</option><option value="W">warnings and errors</option><option value="E">errors</option></select></label>
<label><input id="harness" type="checkbox" checked> harness lines</label> <span id="shown"></span></div>
<ul id="log"></ul>
<h2>Reports</h2>
<ul id="reports"><li>none yet under build/reports (host-harness conformance --report build/reports/conformance.html, bench --report build/reports/bench.html)</li></ul>
<script>
"use strict";
const $ = id => document.getElementById(id);
const levels = "EWID";
const rows = {};
const colours = ["#1971c2", "#2b8a3e", "#e8590c", "#9c36b5", "#c2255c", "#0c8599"];
/** Per service, the last 120 rounds: time, bytes per second since the round before, round trip. */
const history = {};
let previous, stopped = false;
function chart(id, key, unit) {
	const svg = $(id), width = 420, height = 120, pad = 4;
	const series = Object.entries(history).map(([name, points]) => [name, points.filter(p => p[key] !== undefined)]);
	const all = series.flatMap(([, points]) => points);
	if (all.length < 2) return;
	const t0 = Math.min(...all.map(p => p.time)), t1 = Math.max(...all.map(p => p.time)), top = Math.max(...all.map(p => p[key])) || 1;
	const x = t => pad + (width - 2 * pad) * (t - t0) / Math.max(1, t1 - t0), y = v => height - pad - (height - 2 * pad) * v / top;
	svg.innerHTML = "<text x='6' y='12' font-size='10' fill='#868e96'>" + (key === "rtt" ? top.toFixed(1) : Math.round(top)) + " " + unit + "</text>" + series.map(([name, points], i) =>
		"<polyline data-service='" + name + "' fill='none' stroke-width='1.5' stroke='" + colours[Object.keys(history).indexOf(name) % colours.length] + "' points='" +
		points.map(p => x(p.time).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ") + "'/>").join("");
}
function overall(text, state) {
	$("overall").textContent = text;
	$("overall").className = state;
}
function row(name) {
	if (!rows[name]) {
		const tr = document.createElement("tr");
		tr.id = "service-" + name;
		tr.innerHTML = "<td></td><td class=ok></td><td class=failed></td><td class=bytes></td><td class=rtt></td>";
		tr.cells[0].textContent = name;
		$("services").tBodies[0].appendChild(tr);
		rows[name] = tr;
	}
	return rows[name];
}
function levelOf(text) {
	const m = / ([EWID]) \\(\\d+\\) [\\w.-]+:/.exec(text) || /^([EWID]) \\(\\d+\\)/.exec(text);
	return m ? m[1] : "I";
}
function visible(li) {
	const filter = $("filter").value.toLowerCase();
	const min = levels.indexOf($("level").value);
	if (li.dataset.source === "harness" && !$("harness").checked) return false;
	if (levels.indexOf(li.dataset.level) > min) return false;
	return !filter || li.textContent.toLowerCase().includes(filter);
}
function refilter() {
	let shown = 0;
	for (const li of $("log").children) { const v = visible(li); li.classList.toggle("hidden", !v); shown += v; }
	$("shown").textContent = shown + " of " + $("log").children.length + " lines";
}
function addLog(event) {
	const li = document.createElement("li");
	li.dataset.source = event.source;
	li.dataset.level = event.source === "device" ? levelOf(event.text) : "I";
	li.className = event.source === "harness" ? "harness" : li.dataset.level;
	li.textContent = new Date(event.time).toLocaleTimeString() + " [" + event.source + "] " + event.text;
	const log = $("log");
	const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
	log.appendChild(li);
	while (log.children.length > 500) log.removeChild(log.firstChild);
	li.classList.toggle("hidden", !visible(li));
	if (atBottom) log.scrollTop = log.scrollHeight;
	$("shown").textContent = [...log.children].filter(l => !l.classList.contains("hidden")).length + " of " + log.children.length + " lines";
}
const handlers = {
	counters(e) {
		$("round").textContent = "round " + e.round;
		const failing = [];
		for (const [name, c] of Object.entries(e.services)) {
			const tr = row(name);
			tr.cells[1].textContent = c.ok;
			tr.cells[2].textContent = c.failed;
			tr.cells[2].className = c.failed ? "failed some" : "failed";
			tr.cells[3].textContent = c.bytes;
			tr.cells[4].textContent = c.rttMs === undefined ? "" : c.rttMs.toFixed(1) + " ms";
			const before = previous && previous.services[name];
			if (before && c.failed > before.failed) failing.push(name);
			const seconds = previous ? (e.time - previous.time) / 1000 : 0;
			const points = history[name] || (history[name] = []);
			points.push({ time: e.time, throughput: before && seconds > 0 ? (c.bytes - before.bytes) / seconds : undefined, rtt: c.rttMs });
			if (points.length > 120) points.shift();
		}
		previous = e;
		if (!stopped)
			overall(failing.length ? "failing: " + failing.join(", ") : "passing: every service answered in round " + e.round, failing.length ? "failing" : "passing");
		chart("chart-throughput", "throughput", "B/s");
		chart("chart-rtt", "rtt", "ms");
		$("legend").innerHTML = Object.keys(history).map((name, i) => "<span><i style='background:" + colours[i % colours.length] + "'></i>" + name + "</span>").join("");
	},
	log: addLog,
	heap(e) { $("heap").textContent = new Date(e.time).toLocaleTimeString() + "  " + e.text; },
	status(e) {
		$("state").textContent = e.text;
		if (e.text === "stopped") {
			stopped = true;
			overall("stopped", "stopped");
			$("connection").textContent = "stopped";
			$("connection").className = "";
		}
	},
	reports(e) {
		if (!e.reports.length) return;
		$("reports").innerHTML = "";
		for (const r of e.reports) {
			const li = document.createElement("li");
			const a = document.createElement("a");
			a.href = "reports/" + encodeURIComponent(r.name);
			a.textContent = r.kind + ": " + r.name;
			li.append(a, " (" + new Date(r.modified).toLocaleString() + ")");
			$("reports").appendChild(li);
		}
	},
};
for (const id of ["filter", "level", "harness"]) $(id).addEventListener("input", refilter);
function connect() {
	const socket = new WebSocket("ws://" + location.host + "/live");
	socket.onopen = () => { $("connection").textContent = "live"; $("connection").className = ""; };
	socket.onmessage = message => { const e = JSON.parse(message.data); handlers[e.type] && handlers[e.type](e); };
	socket.onclose = () => {
		if (stopped) return;		// the run ended: nothing to reconnect to
		$("connection").textContent = "disconnected, retrying…";
		$("connection").className = "down";
		setTimeout(connect, 1000);
	};
}
connect();
</script>
</body></html>
`;
}
