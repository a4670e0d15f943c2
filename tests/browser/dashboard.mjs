// dashboard.mjs: drives the dashboard in Debian's chromium through puppeteer-core (which downloads
// no browser itself).  usage: node dashboard.mjs URL TOKEN DATABASE SCREENSHOT PROFILE_DIR GATE_DIR
// GATE_DIR is a gate of tests/lib/gate.bash on the PATH of the flows tv-api runs: a run waits
// there, at the upload of a messages dump, until this script says go or fail, so that its
// progress is seen for certain, however fast or slow the machine.
// Prints one line per step; exits 1 at the first failed step.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const depsDir = process.env.TV_DEPS_DIR || `${process.env.HOME}/.cache/tralivali-backup`;
const require = createRequire(`${depsDir}/node_modules/`);
const puppeteer = require('puppeteer-core');

const [url, token, database, screenshot, profile, gate] = process.argv.slice(2);
const problems = [];
// The lock's owner line tv-api writes for the runs it starts (apiflow.c's take_lock).
const holder = (flow) => `tv-api (${flow} for alice) pid `;

function check(ok, what) {
	if (!ok) throw new Error(`failed: ${what}`);
	console.log(`ok: ${what}`);
}

// Clicks a button as a user does, scrolled into view first (a phone shows a part of the page).
async function press(page, sel) {
	await page.$eval(sel, (b) => b.scrollIntoView({ block: 'center' }));
	await page.click(sel);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);

// Holds the next run at the upload of a messages dump (its own, or its safety backup's).
function armGate() {
	fs.writeFileSync(`${gate}/blob`, '*tralivali_messages.bson.gz\n');
}

// Waits (up to a minute) for a run to wait at the gate.
async function gateReached() {
	for (let i = 0; i < 600 && !fs.existsSync(`${gate}/waiting`); i++) await sleep(100);
	check(fs.existsSync(`${gate}/waiting`), 'a run waits at the gate');
}

// Lets the waiting run through ("go") or fails its upload (any other word).
function openGate(word) {
	fs.writeFileSync(`${gate}/word.new`, `${word}\n`);
	fs.renameSync(`${gate}/word.new`, `${gate}/word`);
}

// The page is no wider than the viewport: nothing to scroll sideways.
async function checkNoSideScroll(page, width, when) {
	const wide = await page.evaluate(() => document.documentElement.scrollWidth);
	// On failure, the elements that stick out say what to fix.
	const out = wide <= width ? [] : await page.evaluate((w) => [...document.querySelectorAll('body *')]
		.filter((e) => e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll'))
		.map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + e.className : ''}`)
		.slice(0, 8), width);
	check(wide <= width, `${width} px, ${when}: the page is ${wide} px wide, no horizontal scroll${out.length ? ' (wider: ' + out.join(' ') + ')' : ''}`);
}

// While a run waits at the gate: its stage, collections done and bytes are shown, and the
// buttons that would start another are disabled, naming the holder.
async function checkRunning(page, width, stage, flow) {
	await page.waitForFunction((s) => {
		const now = document.getElementById('run-now').textContent;
		return now.includes(s) && /2 of 5 collections, [1-9][0-9.]* (B|KiB|MiB)/.test(now);
	}, { timeout: 60000 }, stage);
	check(true, `${width} px: progress shown: ${await text(page, '#run-now')}`);
	check(await page.$eval('#run-progress', (p) => !p.hidden && p.value === 2 && p.max === 5),
		`${width} px: the progress bar stands at 2 of 5`);
	check(await page.$eval('#backup-now', (b) => b.disabled), `${width} px: "Back up now" is disabled`);
	check(await page.$eval('#restore-now', (b) => b.disabled), `${width} px: "Restore" is disabled`);
	const notes = await page.$$eval('.lock-note', (l) => l.map((n) => (n.hidden ? '' : n.textContent)));
	check(notes.length === 2 && notes.every((n) => n.includes(holder(flow))), `${width} px: the holder is named: ${notes[0]}`);
	await checkNoSideScroll(page, width, 'while a run holds the lock');
}

// After the run: its result and cause, from its run record, and the buttons back.
async function checkResult(page, width, pattern) {
	await page.waitForFunction((p) => new RegExp(p).test(document.getElementById('run-result').textContent) &&
		!document.getElementById('backup-now').disabled, { timeout: 120000 }, pattern.source);
	check(true, `${width} px: result shown: ${await text(page, '#run-result')}`);
	check(await page.$$eval('.lock-note', (l) => l.every((n) => n.hidden)), `${width} px: the lock notes are gone`);
	check(await text(page, '#run-now') === 'No backup or restore is running.', `${width} px: nothing runs any more`);
	await checkNoSideScroll(page, width, 'after the run');
}

// Shows the plan of a restore of the newest point and types the database's name.
async function prepareRestore(page) {
	await press(page, '#show-plan');
	await page.waitForSelector('#plan-box:not([hidden])', { timeout: 60000 });
	await page.type('#confirm', database);
	check(!(await page.$eval('#restore-now', (b) => b.disabled)), 'Restore is enabled once the name is typed');
}

const browser = await puppeteer.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	userDataDir: profile,
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
let status = 0;
try {
	const page = await browser.newPage();
	await page.setViewport({ width: 1366, height: 900 });
	// A CSP violation or a script error is a failure even if the page seems to work.
	page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(m.text()); });
	page.on('pageerror', (e) => problems.push(String(e)));
	const restores = [];
	page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/admin/backup/restore')) restores.push(r.url()); });

	await page.goto(url, { waitUntil: 'networkidle0' });
	check(await page.$eval('#app', (e) => e.hidden), 'signed out, the page shows only the sign-in form');
	await page.type('#token', token);
	await page.keyboard.press('Tab');
	await page.click('#signin-form button[type=submit]');
	await page.waitForSelector('#timeline li.point', { visible: true, timeout: 30000 });
	const points = await page.$$eval('#timeline li.point', (l) => l.length);
	check(points >= 1, `signed in, ${points} recovery point(s) shown`);
	check(await page.evaluate(() => sessionStorage.length === 1 && localStorage.length === 0 && document.cookie === ''),
		'the token is kept in sessionStorage only');
	await checkNoSideScroll(page, 1366, 'signed in');

	// "Back up now": its progress while it runs, then its result, without a reload.
	armGate();
	await page.click('#backup-now');
	await gateReached();
	await checkRunning(page, 1366, 'Backing up messages', 'tv-backup');
	openGate('go');
	await checkResult(page, 1366, /^Last run: backup [0-9a-f]{24} Completed in [0-9.]+ s\.$/);
	const result = await text(page, '#backup-result');
	const id = (result.match(/backup ([0-9a-f]{24})/) || [])[1];
	check(/^Completed: Backup completed successfully/.test(result) && id, `"Back up now": ${result}`);
	check((await text(page, '#run-result')).includes(id), 'the result shown is that backup\'s run');
	await page.waitForSelector(`#timeline li.point[data-id="${id}"]`, { timeout: 30000 });
	console.log(`backed up and listed: ${id}`);

	// A backup whose upload fails: the result names the cause.
	armGate();
	await page.click('#backup-now');
	await gateReached();
	await checkRunning(page, 1366, 'Backing up messages', 'tv-backup');
	openGate('fail');
	await checkResult(page, 1366, /Failed in [0-9.]+ s \(exit 74\): tv-blob-put: backups\/\S+\/tralivali_messages\.bson\.gz: the upload failed at the test's gate\.$/);

	await page.click('#show-plan');
	await page.waitForSelector('#plan-box:not([hidden])', { timeout: 60000 });
	const plan = await page.$eval('#plan', (e) => e.textContent);
	check(/would replace these collections/.test(plan), 'the plan is shown before anything is restored');
	check(await page.$eval('#dbname', (e) => e.textContent) === database, `the page asks for the name ${database}`);
	check(await page.$eval('#restore-now', (b) => b.disabled), 'Restore is disabled before the name is typed');
	await page.type('#confirm', database.slice(0, -1));
	check(await page.$eval('#restore-now', (b) => b.disabled), 'Restore stays disabled with a wrong name');
	// Enter cannot submit past the disabled button; a scripted submit meets the handler's own check.
	await page.keyboard.press('Enter');
	await page.$eval('#confirm-form', (f) => f.requestSubmit());
	await page.waitForFunction(() => /Type the database name/.test(document.getElementById('restore-result').textContent));
	check(restores.length === 0, 'submitting with a wrong name sends no restore');
	await page.type('#confirm', database.slice(-1));
	check(!(await page.$eval('#restore-now', (b) => b.disabled)), 'Restore is enabled once the name is typed');
	await page.screenshot({ path: screenshot, fullPage: true });

	// A phone: the same page, no sideways scrolling; a restore whose safety backup fails, then one
	// that succeeds, each with its progress and its result.
	// Only the width changes: a change of isMobile would make puppeteer reload the page, and lose the plan.
	await page.setViewport({ width: 375, height: 800 });
	await checkNoSideScroll(page, 375, 'the restore form with its plan');
	armGate();
	await press(page, '#restore-now');
	await gateReached();
	await checkRunning(page, 375, 'Backing up messages', 'tv-recover');
	openGate('fail');
	await checkResult(page, 375, /^Last run: recover [0-9a-f]{24} Failed in [0-9.]+ s \(exit 74\): tv-recover: the safety backup failed; nothing was restored/);
	check(/^Backup restore failed: /.test(await text(page, '#restore-result')), `375 px: ${await text(page, '#restore-result')}`);

	await prepareRestore(page);
	armGate();
	await press(page, '#restore-now');
	await gateReached();
	await checkRunning(page, 375, 'Backing up messages', 'tv-recover');
	openGate('go');
	await checkResult(page, 375, /^Last run: recover [0-9a-f]{24} Completed in [0-9.]+ s\.$/);
	check(/^Backup restored successfully: Restore from /.test(await text(page, '#restore-result')),
		`375 px: ${await text(page, '#restore-result')}`);
	await page.screenshot({ path: screenshot.replace(/\.png$/, '-375.png'), fullPage: true });

	await page.click('#signout');
	check(await page.evaluate(() => sessionStorage.length === 0), 'signing out forgets the token');
	check(problems.length === 0, `no script errors or CSP violations${problems.length ? ': ' + problems.join('; ') : ''}`);
} catch (e) {
	console.log(e.message);
	status = 1;
} finally {
	await browser.close();
}
process.exit(status);
