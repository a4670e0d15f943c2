// app.js: the tralivali-backup dashboard.  It only calls tv-api's endpoints with the admin token
// pasted at sign-in, kept in sessionStorage; every text it shows goes through textContent.
'use strict';

const TOKEN_KEY = 'tralivali-backup.token';
const DEFAULT_COLLECTIONS = ['users', 'conversations', 'messages', 'invites', 'files'];
const $ = (id) => document.getElementById(id);
let backups = [];
let database = null;
// The run lock as /admin/backup/running last answered, the runs seen holding it, and whether a
// backup or restore this page asked for is under way (then the page polls often).
let lock = { held: false, holder: null, run: null };
let seen = new Map();
let waiting = 0;
let pollTimer = null;
let polling = false;
// Bumped when a run this page started has answered: a poll sent before then is stale.
let epoch = 0;

// Calls an endpoint; returns {status, body} with body parsed as JSON when it is JSON.
async function call(method, path) {
	const response = await fetch(path, {
		method,
		headers: { Authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) },
		cache: 'no-store',
	});
	const text = await response.text();
	let body = text;
	try { body = JSON.parse(text); } catch (e) { /* plain text */ }
	if (response.status === 401 || response.status === 403) {
		signOut(response.status === 403 ? 'This token does not carry the admin role.' :
			'The token was refused (expired or not valid). Sign in again.');
	}
	return { status: response.status, body };
}

function element(tag, text, className) {
	const e = document.createElement(tag);
	if (text !== undefined && text !== null) e.textContent = String(text);
	if (className) e.className = className;
	return e;
}

function bytes(n) {
	if (typeof n !== 'number') return '?';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
	return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

function when(iso) {
	if (!iso) return '?';
	const d = new Date(iso);
	return isNaN(d) ? String(iso) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:00Z$/, 'Z');
}

function message(body, fallback) {
	return body && typeof body === 'object' && body.message ? body.message : fallback;
}

function restoreAllowed() {
	return !lock.held && !!database && $('confirm').value === database;
}

// Buttons that start a run are disabled while another holds the lock, which is named beside them.
function showLock() {
	$('backup-now').disabled = lock.held || waiting > 0;
	$('restore-now').disabled = !restoreAllowed();
	for (const note of document.querySelectorAll('.lock-note')) {
		note.hidden = !lock.held;
		note.textContent = lock.held ? '"Back up now" and "Restore" are disabled while a run holds the lock: ' +
			(lock.holder || 'unknown') + '.' : '';
	}
}

// What the running flow last recorded: its stage, collections done and bytes.
function showProgress() {
	const bar = $('run-progress');
	const run = lock.run;
	if (!lock.held) {
		$('run-now').textContent = 'No backup or restore is running.';
		bar.hidden = true;
		return;
	}
	if (!run) {
		$('run-now').textContent = 'Running: ' + (lock.holder || 'a run holds the lock') + '.';
		bar.hidden = true;
		return;
	}
	const total = Number(run.collectionsTotal) || 0;
	const done = Number(run.collectionsDone) || 0;
	$('run-now').textContent = 'Running ' + (run.program || run.kind) + ' (' + run.kind + ' ' + run.id + ', since ' +
		when(run.start) + '): ' + run.stage + ' — ' + (total ? done + ' of ' + total + ' collections, ' : '') +
		bytes(run.bytes) + '.';
	bar.hidden = total === 0;
	bar.max = total || 1;
	bar.value = done;
}

// The result and cause of a run from its record: the one with id, else the newest of kind.
async function showRunResult(kind, id) {
	const result = await call('GET', '/admin/backup/runs?limit=50');
	const runs = result.status === 200 && Array.isArray(result.body.runs) ? result.body.runs : [];
	const r = runs.find((x) => (id ? x.id === id : x.kind === kind));
	if (!r) return;
	const duration = typeof r.durationSeconds === 'number' ? ' in ' + r.durationSeconds.toFixed(1) + ' s' : '';
	$('run-result').textContent = 'Last run: ' + r.kind + ' ' + r.id + ' ' + r.status + duration +
		(r.status === 'Completed' ? '.' : ' (exit ' + r.exitCode + '): ' + (r.cause || 'no cause recorded') + '.');
	$('run-result').className = r.status === 'Completed' ? 'ok' : 'error';
	showRuns(result);
}

// Asks who holds the lock and how far its run is.  A run started elsewhere (cron, another tab)
// that was seen holding it gets its result shown once it lets go; one this page started gets it
// from startedRunEnded.
async function pollRunning() {
	if (polling || !sessionStorage.getItem(TOKEN_KEY)) return;
	clearTimeout(pollTimer);
	polling = true;
	const mine = epoch;
	let result = { status: 0, body: null };
	try {
		result = await call('GET', '/admin/backup/running');
	} catch (e) {
		// tv-api restarting or the network gone: the next poll asks again.
	} finally {
		polling = false;
	}
	if (mine !== epoch) {
		pollRunning();
		return;
	}
	if (result.status === 200 && typeof result.body === 'object') {
		lock = result.body;
		if (lock.held && lock.run && lock.run.id && !waiting) seen.set(lock.run.id, lock.run.kind);
		if (!lock.held && seen.size) {
			const [id, kind] = [...seen.entries()].pop();
			seen = new Map();
			await showRunResult(kind, id);
			refresh();
		}
		showProgress();
		showLock();
	}
	// Often while something runs, seldom otherwise: every answer is a line in tv-api's log.
	pollTimer = setTimeout(pollRunning, lock.held || waiting ? 1000 : 15000);
}

// A backup or restore this page asked for has answered: its result comes from its run record.
async function startedRunEnded(kind, id) {
	waiting--;
	epoch++;
	seen = new Map();
	if (kind) await showRunResult(kind, id);
	await pollRunning();
}

function signOut(why) {
	sessionStorage.removeItem(TOKEN_KEY);
	$('app').hidden = true;
	$('signout').hidden = true;
	$('signin').hidden = false;
	$('signin-error').textContent = why || '';
	$('token').value = '';
	$('token').focus();
}

async function signIn(event) {
	event.preventDefault();
	const token = $('token').value.trim();
	if (!token) return;
	sessionStorage.setItem(TOKEN_KEY, token);
	$('token').value = '';
	$('signin-error').textContent = '';
	$('signin').hidden = true;
	$('app').hidden = false;
	$('signout').hidden = false;
	await refresh();
	pollRunning();
	$('backup-now').focus();
}

function showHealth(result) {
	const badge = $('health');
	let state = 'UNKNOWN';
	let detail = '';
	if (result.status === 200 && typeof result.body === 'object') {
		state = String(result.body.status || 'UNKNOWN').toUpperCase();
		// tv-status lists its checks; the first one as bad as the whole explains the badge.
		const checks = Array.isArray(result.body.checks) ? result.body.checks : [];
		const worst = checks.find((c) => String(c.status).toUpperCase() === state);
		detail = worst ? worst.name + ': ' + worst.message : (result.body.message || '');
	} else {
		detail = message(result.body, 'status unavailable');
	}
	badge.textContent = state;
	badge.className = 'badge badge-' + state.toLowerCase();
	$('health-detail').textContent = detail;
}

// The timeline: recovery points and continuous oplog ranges, newest first.
function showPoints(list) {
	backups = (Array.isArray(list.backups) ? list.backups : [])
		.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
	const ranges = Array.isArray(list.pitr) ? list.pitr : [];
	const items = backups.map((b) => ({ time: b.createdAt, backup: b }))
		.concat(ranges.map((r) => ({ time: r.to, range: r })))
		.sort((a, b) => String(b.time).localeCompare(String(a.time)));
	const ol = $('timeline');
	ol.replaceChildren();
	if (items.length === 0) ol.append(element('li', 'No recovery points yet.', 'empty'));
	for (const item of items) {
		const li = element('li');
		if (item.backup) {
			const b = item.backup;
			li.className = 'point ' + (b.status === 'Completed' ? 'ok' : 'failed');
			li.dataset.id = b.id || '';
			li.append(element('time', when(b.createdAt)), ' ',
				element('strong', b.type || 'backup'), ' ',
				element('span', b.status, 'state'), ' ',
				element('span', bytes(b.size) + ' in ' + (b.filePath || '?') + (b.reason ? ': ' + b.reason : ''), 'detail'));
		} else {
			li.className = 'range';
			li.append(element('time', when(item.range.from) + ' → ' + when(item.range.to)), ' ',
				element('span', item.range.restorableFrom ?
					'continuous oplog: any second from ' + when(item.range.restorableFrom) + ' can be restored' :
					'continuous oplog, not restorable yet: no backup lies in it (take one)', 'detail'));
		}
		ol.append(li);
	}
	const total = backups.reduce((sum, b) => sum + (typeof b.size === 'number' ? b.size : 0), 0);
	$('storage').textContent = 'Storage used by ' + backups.length + ' recovery point(s): ' + bytes(total) + '.';
	showCounts();
	fillPoints();
}

// Documents per collection at the newest points, and the change from the point before.
function showCounts() {
	const points = backups.filter((b) => b.status === 'Completed' && Array.isArray(b.collections))
		.slice(0, 6).reverse();
	const table = $('counts');
	table.tHead.replaceChildren();
	table.tBodies[0].replaceChildren();
	$('counts-note').textContent = points.length ? '' : 'No counts: the listing has no per-collection numbers yet.';
	if (!points.length) return;
	const head = element('tr');
	head.append(element('th', 'Collection'));
	for (const p of points) head.append(element('th', when(p.createdAt)));
	for (const th of head.children) th.scope = 'col';
	table.tHead.append(head);
	const names = [...new Set(points.flatMap((p) => p.collections.map((c) => c.name)))];
	for (const name of names) {
		const row = element('tr');
		const th = element('th', name);
		th.scope = 'row';
		row.append(th);
		let before = null;
		for (const p of points) {
			const c = p.collections.find((x) => x.name === name);
			const n = c && typeof c.documents === 'number' ? c.documents : null;
			const td = element('td', n === null ? '–' : n);
			if (n !== null && before !== null && n !== before) {
				const delta = n - before;
				td.append(' ', element('span', (delta > 0 ? '+' : '−') + Math.abs(delta), delta > 0 ? 'up' : 'down'));
			}
			before = n;
			row.append(td);
		}
		table.tBodies[0].append(row);
	}
}

function showRuns(result) {
	const body = $('runs').tBodies[0];
	body.replaceChildren();
	const runs = result.status === 200 && Array.isArray(result.body.runs) ? result.body.runs : [];
	$('runs-note').textContent = result.status === 200 ? (runs.length ? '' : 'No runs recorded yet.') :
		message(result.body, 'Runs unavailable.');
	for (const r of runs.slice(0, 20)) {
		const ok = /^(completed|ok|success)/i.test(String(r.status || ''));
		const row = element('tr', null, ok ? '' : 'failed');
		const duration = r.durationSeconds ?? r.duration ?? r.seconds;
		row.append(element('td', when(r.startedAt || r.start || r.started)),
			element('td', r.kind || r.flow || '?'),
			element('td', r.status || ('exit ' + (r.exitCode ?? '?'))),
			element('td', typeof duration === 'number' ? duration.toFixed(1) + ' s' : (duration || '')),
			element('td', r.cause || r.error || ''));
		body.append(row);
	}
}

// The restore form's choices follow the listing.  A periodic refresh that keeps the chosen point
// leaves the collections, the plan and the typed name as they are.
function fillPoints() {
	const select = $('point');
	const kept = select.value;
	select.replaceChildren();
	for (const b of backups.filter((x) => x.status === 'Completed')) {
		const folder = String(b.filePath || '').replace(/\/$/, '');
		select.append(new Option(when(b.createdAt) + ' — ' + (b.type || 'backup') + ' (' + folder + ')', folder));
	}
	if (kept && [...select.options].some((o) => o.value === kept)) {
		select.value = kept;
		return;
	}
	fillCollections();
}

function fillCollections() {
	const b = backups.find((x) => String(x.filePath || '').replace(/\/$/, '') === $('point').value);
	const names = b && Array.isArray(b.collections) && $('mode-point').checked ?
		b.collections.map((c) => c.name) : DEFAULT_COLLECTIONS;
	const box = $('collections');
	box.replaceChildren();
	for (const name of names) {
		const id = 'coll-' + name.replace(/[^A-Za-z0-9_-]/g, '_');
		const input = element('input');
		input.type = 'checkbox';
		input.id = id;
		input.value = name;
		input.checked = true;
		const label = element('label', name);
		label.htmlFor = id;
		const span = element('span', null, 'check');
		span.append(input, label);
		box.append(span);
	}
	resetPlan();
}

function resetPlan() {
	$('plan-box').hidden = true;
	$('confirm').value = '';
	database = null;
	$('restore-now').disabled = true;
}

// The query naming what to restore, as both the plan and the restore take it.
function restoreQuery() {
	const params = new URLSearchParams();
	if ($('mode-at').checked) params.set('at', $('at').value.trim());
	else params.set('point', $('point').value);
	const boxes = [...$('collections').querySelectorAll('input[type=checkbox]')];
	const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
	if (chosen.length === 0) throw new Error('Choose at least one collection.');
	if (chosen.length < boxes.length) params.set('collections', chosen.join(','));
	return params.toString();
}

async function showPlan(event) {
	event.preventDefault();
	resetPlan();
	$('restore-result').textContent = '';
	let query;
	try { query = restoreQuery(); } catch (e) { $('restore-result').textContent = e.message; return; }
	$('restore-result').textContent = 'Working out the plan…';
	const result = await call('GET', '/admin/backup/plan?' + query);
	if (result.status !== 200) {
		$('restore-result').textContent = 'No plan: ' + message(result.body, 'error ' + result.status);
		return;
	}
	$('restore-result').textContent = '';
	database = result.body.database;
	$('plan').textContent = result.body.plan;
	$('dbname').textContent = database;
	$('plan-box').hidden = false;
	$('confirm').focus();
}

async function restore(event) {
	event.preventDefault();
	// The typed name is the operator's confirmation; without it nothing is sent.
	if (!restoreAllowed()) {
		$('restore-result').textContent = lock.held ? 'A run holds the lock: ' + lock.holder + '. Restore when it has ended.' :
			'Type the database name exactly to confirm the restore.';
		return;
	}
	const query = restoreQuery();
	$('restore-now').disabled = true;
	$('restore-result').textContent = 'Restoring (safety backup first)… this can take a while.';
	waiting++;
	pollRunning();
	let result = { status: 0, body: null };
	try {
		result = await call('POST', '/admin/backup/restore?' + query);
	} finally {
		// A refusal before the lock (409, 400) ran nothing: there is no run of its own to show.
		await startedRunEnded(result.status !== 409 && result.status !== 400 && result.status !== 0 ? 'recover' : null);
	}
	// The old service's words first, then ours (the cause of a failure) from "detail".
	const detail = result.body && result.body.detail ? ': ' + result.body.detail : '';
	$('restore-result').textContent = message(result.body, 'error ' + result.status) + detail +
		(result.body && result.body.holder ? ' — held by ' + result.body.holder : '');
	resetPlan();
	await refresh();
}

async function backupNow() {
	$('backup-result').textContent = 'Backing up… this can take a while.';
	waiting++;
	showLock();
	pollRunning();
	let result = { status: 0, body: null };
	try {
		result = await call('POST', '/admin/backup/trigger');
	} finally {
		// tv-backup's run record carries the backup's id; a refusal before the lock ran nothing.
		const id = result.body && result.body.backupId;
		await startedRunEnded(id ? 'backup' : null, id);
	}
	const b = result.body || {};
	$('backup-result').textContent = (b.status ? b.status + ': ' : '') + message(b, 'error ' + result.status) +
		(b.backupId ? ' (backup ' + b.backupId + ')' : '') + (b.holder ? ' — held by ' + b.holder : '');
	await refresh();
}

async function refresh() {
	if (!sessionStorage.getItem(TOKEN_KEY)) return;
	const [status, list, runs] = await Promise.all([
		call('GET', '/admin/backup/status'),
		call('GET', '/admin/backup/list'),
		call('GET', '/admin/backup/runs?limit=20'),
	]);
	if (!sessionStorage.getItem(TOKEN_KEY)) return;
	showHealth(status);
	if (list.status === 200 && typeof list.body === 'object') showPoints(list.body);
	else $('storage').textContent = 'Recovery points unavailable: ' + message(list.body, 'error ' + list.status);
	showRuns(runs);
}

document.addEventListener('DOMContentLoaded', () => {
	$('signin-form').addEventListener('submit', signIn);
	$('signout').addEventListener('click', () => signOut('Signed out.'));
	$('backup-now').addEventListener('click', backupNow);
	$('restore-form').addEventListener('submit', showPlan);
	$('confirm-form').addEventListener('submit', restore);
	$('confirm').addEventListener('input', () => {
		$('restore-now').disabled = !restoreAllowed();
		$('restore-result').textContent = '';
	});
	$('point').addEventListener('change', fillCollections);
	$('mode-point').addEventListener('change', fillCollections);
	$('mode-at').addEventListener('change', fillCollections);
	$('at').addEventListener('focus', () => { $('mode-at').checked = true; });
	fillCollections();
	if (sessionStorage.getItem(TOKEN_KEY)) {
		$('signin').hidden = true;
		$('app').hidden = false;
		$('signout').hidden = false;
		refresh();
		pollRunning();
	}
	setInterval(refresh, 30000);
});
