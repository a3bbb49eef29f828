// The web console in a real browser: headless Chromium (Debian's `chromium`, driven by
// playwright-core) loads each page of a live 3-node cluster's console and checks what it shows:
// members up, the ring with a key's preference list, request rates, the anti-entropy heat map,
// a join's transfers appearing and finishing on the new node, a killed node turning down.
// Screenshots go to $CONSOLE_SCREENSHOTS_DIR (docs/console holds the committed ones), else a
// temporary directory, printed. Skipped, with the reason printed, where Chromium is missing.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionOf } from '@ringstore/ring';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { listMembers } from '../test-support/kv-client.js';
import { joinChange, membership, settled } from '../test-support/membership-client.js';

const chromiumPath = [
  process.env['CHROMIUM_PATH'],
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
]
  .filter((p): p is string => p !== undefined && p !== '')
  .find((p) => existsSync(p));
if (chromiumPath === undefined)
  console.log(
    'console.test: skipped, no Chromium (apt-get install chromium, or set CHROMIUM_PATH)',
  );

const keptShotsDir = process.env['CONSOLE_SCREENSHOTS_DIR'];
/** Without CONSOLE_SCREENSHOTS_DIR the screenshots are taken into a temporary directory, removed. */
const shotsDir = keptShotsDir ?? mkdtempSync(join(tmpdir(), 'ringstore-console-'));

/** Bound on anything the page should show after the cluster changes (polling every 500 ms). */
const showsWithinMs = 20_000;

describe.skipIf(chromiumPath === undefined)('the web console in Chromium', () => {
  let tc: TestCluster | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(shotsDir, { recursive: true });
    console.log(
      keptShotsDir === undefined
        ? 'console.test: screenshots taken and removed (set CONSOLE_SCREENSHOTS_DIR to keep them)'
        : `console.test: screenshots in ${shotsDir}`,
    );
    // Anti-entropy every 300 ms, so the heat map fills while the test runs; transfers slowed so
    // the join's progress can be seen before it finishes.
    tc = await startTestCluster(3, ['--ae-interval-ms', '300', '--transfer-rate', '400'], {
      adminPorts: true,
    });
    browser = await chromium.launch({
      executablePath: chromiumPath!,
      // CI runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox'],
      timeout: 30_000,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(showsWithinMs);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await tc?.stop();
    if (keptShotsDir === undefined) rmSync(shotsDir, { recursive: true, force: true });
  }, 60_000);

  const admin = (id: string): string => {
    const a = tc!.cluster.node(id).adminAddress;
    if (a === undefined) throw new Error(`${id} has no admin port`);
    return `http://${a}`;
  };

  async function open(id: string, pageName: string): Promise<void> {
    await page.goto(`${admin(id)}/?refresh=500#${pageName}`);
    await page.waitForSelector(`body[data-loaded="${pageName}"]`);
  }

  /** The text of the first element `selector` matches now ('' when none does). */
  async function cell(selector: string): Promise<string> {
    const l = page.locator(selector).first();
    return (await l.count()) === 0 ? '' : ((await l.textContent()) ?? '');
  }

  /** Attribute `name` of every element `selector` matches, in order. */
  async function attributes(selector: string, name: string): Promise<(string | null)[]> {
    return Promise.all((await page.locator(selector).all()).map((e) => e.getAttribute(name)));
  }

  /** Waits until the members table shows `n` members up. */
  async function upCount(n: number): Promise<void> {
    await expect
      .poll(() => page.locator('#members tr[data-liveness="up"]').count(), {
        timeout: showsWithinMs,
      })
      .toBe(n);
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
  }

  it('overview: every member up, with phi, heartbeat age and ring version', async () => {
    await open('n1', 'overview');
    await upCount(3);
    const rows = await Promise.all(
      (await page.locator('#members tbody tr').all()).map((tr) =>
        tr.locator('td').allTextContents(),
      ),
    );
    expect(rows.map((r) => r[0])).toEqual(['n1 (this node)', 'n2', 'n3']);
    for (const r of rows) {
      expect(r[3]).toBe('valid');
      expect(r[7]).toBe('1'); // ring version applied
    }
    // Peers: a finite phi and a heartbeat seen moments ago.
    for (const r of rows.slice(1)) {
      expect(Number(r[5])).toBeLessThan(8);
      expect(r[6]).toMatch(/(ms|s) ago$/);
    }
    expect(await page.textContent('#node')).toMatch(/node n1 .* SERVING/);
    // Cluster.ListMembers says the same: Node.status is the ring status, liveness is `alive`.
    const members = await listMembers(tc!.address('n1'));
    const rowsOf = members.map((m) => [m.node?.id ?? '', m.node?.status, m.alive] as const);
    expect([...rowsOf].sort((a, b) => a[0].localeCompare(b[0]))).toEqual([
      ['n1', 'valid', true],
      ['n2', 'valid', true],
      ['n3', 'valid', true],
    ]);
    await shot('overview');
  }, 60_000);

  it('ring: partitions coloured by owner, a typed key highlights its partition and replicas', async () => {
    await open('n1', 'ring');
    expect(await page.locator('#ring-picture path.partition').count()).toBe(256);
    const owners = await attributes('#ring-picture path.partition', 'fill');
    expect(new Set(owners).size).toBe(3);
    await page.fill('#key', 'user:42');
    await page.waitForSelector('#preference-list li');
    const expected = partitionOf(Buffer.from('user:42'), 256);
    const hit = await page.getAttribute('#ring-picture path.hit', 'data-partition');
    expect(Number(hit)).toBe(expected);
    const replicas = await attributes('#preference-list li', 'data-node');
    expect([...replicas].sort()).toEqual(['n1', 'n2', 'n3']);
    expect(await page.textContent('#key-result')).toContain(`partition ${expected}`);
    await shot('ring');
  }, 60_000);

  it('requests: rates and latency percentiles of the puts and gets just made', async () => {
    const client = tc!.client('n1');
    for (let i = 0; i < 200; i += 20)
      await Promise.all(
        Array.from({ length: 20 }, (_, j) => client.put(`console-${i + j}`, `value-${i + j}`)),
      );
    for (let i = 0; i < 100; i++) await client.get(`console-${i}`);
    await open('n1', 'requests');
    // A sample is taken every 5 s: the puts show in the next one.
    await expect
      .poll(async () => Number(await cell('#requests tr[data-op="put"] td:nth-child(2)')), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    const put = await page.locator('#requests tr[data-op="put"] td').allTextContents();
    expect(put[3]).toMatch(/ms|s$/); // p50
    expect(put[5]).toMatch(/ms|s$/); // p99
  }, 60_000);

  it('anti-entropy: the summary first, and the heat map fills as exchanges run', async () => {
    await open('n1', 'anti-entropy');
    await expect
      .poll(() => page.locator('#ae-heatmap .cell:not(.never)').count(), { timeout: showsWithinMs })
      .toBeGreaterThanOrEqual(5);
    expect(await page.locator('#ae-heatmap .cell').count()).toBe(256);
    expect(await page.textContent('#ae-summary')).toMatch(
      /\d+ of 256 partitions exchanged, \d+ never; \d+ differences found; a full round takes/,
    );
    await shot('anti-entropy');
  }, 60_000);

  it("transfers: a join's transfers appear on the new node and finish", async () => {
    // Data to move: the joiner streams its partitions at 400 objects/s.
    const client = tc!.client('n1');
    for (let i = 0; i < 1500; i += 100)
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => client.put(`move-${i + j}`, `v${i + j}`)),
      );
    const n4 = await tc!.cluster.addNode('n4');
    await membership.stage(tc!.address('n1'), joinChange('n4', n4));
    await membership.plan(tc!.address('n1'));
    await membership.commit(tc!.address('n1'));
    await open('n4', 'transfers');
    await page.waitForSelector('#transfers tbody tr[data-partition]');
    await page.waitForSelector('#transitions tbody tr[data-partition]');
    // Then objects arrive: a progress bar moves and the summary counts them.
    await expect
      .poll(
        async () => Number(/; (\d+) objects received/.exec(await cell('#inbound-summary'))?.[1]),
        {
          timeout: 30_000,
        },
      )
      .toBeGreaterThan(0);
    await page.waitForSelector(
      '#transfers tr:is([data-state="streaming"], [data-state="catch-up"], [data-state="done"], [data-state="read-new"])',
    );
    await shot('transfers');
    // Then every one finishes and the transition ends.
    await settled(tc!, ['n1', 'n2', 'n3', 'n4']);
    await expect
      .poll(() => cell('#transition-summary'), { timeout: 30_000 })
      .toBe('No transition is running.');
    await open('n1', 'overview');
    await upCount(4);
  }, 150_000);

  it('a killed node turns down within the detection time', async () => {
    await open('n1', 'overview');
    await tc!.kill('n3');
    const killedAt = Date.now();
    await page.waitForSelector('#members tr[data-node="n3"][data-liveness="down"]');
    console.log(`console.test: n3 shown down ${Date.now() - killedAt} ms after its kill`);
    const phi = await page.textContent('#members tr[data-node="n3"] td:nth-child(6)');
    expect(phi === '∞' || Number(phi) >= 0).toBe(true);
    await shot('overview-node-down');
    // Writes while n3 is down leave hints for it at the fallbacks: some node's page lists them.
    const client = tc!.client('n1');
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => client.put(`while-down-${i}`, 'v', { w: 1 })),
    );
    const held: string[] = [];
    for (const id of ['n1', 'n2', 'n4']) {
      await open(id, 'transfers');
      const row = page.locator('#hints tr[data-target="n3"]');
      if ((await row.count()) === 0) continue;
      expect(Number(await row.locator('td').nth(1).textContent())).toBeGreaterThan(0);
      expect(await row.locator('.badge').textContent()).toBe('down');
      if (held.length === 0) await shot('hints');
      held.push(id);
    }
    expect(held.length).toBeGreaterThan(0);
    // By now the request history spans the whole test: its sparklines have a line each.
    await open('n1', 'requests');
    expect(await page.locator('#requests svg.spark polyline').count()).toBeGreaterThan(0);
    await shot('requests');
  }, 60_000);
});
