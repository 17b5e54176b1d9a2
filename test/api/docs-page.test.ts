import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type BrowserContext } from 'playwright-core';
import { startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';

/** Debian's chromium (scripts/testenv installs it); nothing downloads a browser. */
const CHROMIUM = '/usr/bin/chromium';
/** Kept after the run (gitignored), for a person to look at. */
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');

describe('/docs API reference page', function () {
  this.timeout(60_000);
  let zcloud: TestZcloud;
  let browser: BrowserContext;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`npm run testenv ensure\` (installs Debian's chromium)`);
    zcloud = await startTestZcloud();
    // A new empty profile per run (playwright takes it as launchPersistentContext's user data dir).
    browser = await chromium.launchPersistentContext(tempDir('zcloud-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 2000 },
      // A fresh profile and no background traffic: the page must load from zcloud alone.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await zcloud?.close();
  });

  it('loads without a token, with no console errors and nothing fetched from elsewhere, renders zcloud.cn/v1 and OSP', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const origin = new URL(zcloud.url).origin;
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(origin) && !request.url().startsWith('data:')) problems.push(`request elsewhere: ${request.url()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });

    const res = await page.goto(`${zcloud.url}/docs`, { waitUntil: 'networkidle' });
    expect(res?.status()).to.equal(200);
    // Every kind's tag is listed (the last in order: user, userquota).
    await page.waitForSelector('.opblock-tag[data-tag="userquota"]', { timeout: 20_000 });
    expect(await page.textContent('.info .title')).to.include('zcloud.cn/v1');
    const tags = await page.$$eval('.opblock-tag', (nodes) => nodes.map((n) => n.getAttribute('data-tag')));
    expect(tags).to.include.members(['user', 'cluster', 'deployment']);
    const definitions = await page.$$eval('select#select option', (nodes) => nodes.map((n) => n.textContent));
    expect(definitions).to.deep.equal(['zcloud.cn/v1', 'OSP API']);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.selectOption('select#select', { label: 'OSP API' });
    await page.waitForFunction(() => document.querySelector('.info .title')?.textContent?.includes('OSP API'), undefined, { timeout: 20_000 });
    // Tags start collapsed: open them all, as a reader would, to see the operations.
    await page.waitForSelector('.opblock-tag', { timeout: 20_000 });
    for (const tag of await page.$$('.opblock-tag')) await tag.click();
    await page.waitForSelector('.opblock-summary-path[data-path="/pods/{cluster}/{namespace}/{name}"]', { timeout: 20_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-page-osp.png'), fullPage: false });
    await page.selectOption('select#select', { label: 'zcloud.cn/v1' });
    await page.waitForSelector('.opblock-tag[data-tag="user"]', { timeout: 20_000 });
    const screenshot = path.join(ARTIFACTS, 'docs-page.png');
    await page.screenshot({ path: screenshot, fullPage: false });
    expect(statSync(screenshot).size).to.be.greaterThan(10_000);
    expect(problems).to.deep.equal([]);
  });
});
