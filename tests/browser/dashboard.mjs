// dashboard.mjs: drives the dashboard in Debian's chromium through puppeteer-core (which downloads
// no browser).  usage: node dashboard.mjs URL TOKEN DATABASE SCREENSHOT PROFILE_DIR
// Prints one line per step; exits 1 at the first failed step.
import { createRequire } from 'node:module';
import process from 'node:process';

const depsDir = process.env.TV_DEPS_DIR || `${process.env.HOME}/.cache/tralivali-backup`;
const require = createRequire(`${depsDir}/node_modules/`);
const puppeteer = require('puppeteer-core');

const [url, token, database, screenshot, profile] = process.argv.slice(2);
const problems = [];

function check(ok, what) {
	if (!ok) throw new Error(`failed: ${what}`);
	console.log(`ok: ${what}`);
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

	await page.click('#backup-now');
	await page.waitForFunction(() => /Completed|Failed|error/.test(document.getElementById('backup-result').textContent),
		{ timeout: 120000 });
	const result = await page.$eval('#backup-result', (e) => e.textContent);
	const id = (result.match(/backup ([0-9a-f]{24})/) || [])[1];
	check(/^Completed: Backup completed successfully/.test(result) && id, `"Back up now": ${result}`);
	await page.waitForSelector(`#timeline li.point[data-id="${id}"]`, { timeout: 30000 });
	console.log(`backed up and listed: ${id}`);

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
