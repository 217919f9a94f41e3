/**
 * The lab matrix HTML report in a real browser: headless Debian chromium driven by
 * playwright-core opens the file, with every network feature chromium has turned off and every
 * request that is not the file itself aborted and counted. The test reads the grid back from
 * the DOM (cell count, a cell's text, the mismatch outline, the heat colours), takes a
 * screenshot of the heatmap, and checks it really shows red and green cells, not a blank box.
 *
 * Needs chromium (`apt-get install chromium`): required in CI.
 */
import { launchChromiumInNetns, QUIET_CHROMIUM_FLAGS, type NetnsChromium } from '../helpers/chromium-netns.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLabMatrixReport } from '../../src/report/lab-matrix-report.js';
import { renderLabMatrixHtml } from '../../src/report/lab-matrix-html.js';
import { sampleMatrix, trials } from '../lab/matrix-fixtures.js';
import { skipUnlessTools, toolGate } from '../helpers/tools.js';

/*
 * Browser globals used inside page.evaluate callbacks, which run in chromium, not in node. The
 * project compiles without the DOM lib, so they are declared here, for these callbacks only.
 */
declare const getComputedStyle: (element: unknown) => { outlineStyle: string; backgroundColor: string };
declare const Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
interface Canvas2d {
  drawImage(image: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> };
}
declare const document: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Canvas2d | null } };

// Chromium runs in a namespace of its own with only loopback (root and iproute2), so nothing it
// might try can leave this machine.
const gate = toolGate(['chromium', 'ip'], 'apt-get install chromium iproute2');
const skip = skipUnlessTools(gate, 'lab HTML report in chromium');

const NO_NETWORK_FLAGS = [...QUIET_CHROMIUM_FLAGS, '--host-resolver-rules=MAP * ~NOTFOUND'];

const TYPES = ['none', 'port-restricted', 'restricted', 'symmetric'] as const;

describe.skipIf(skip)('lab matrix HTML in headless chromium', () => {
  let netns: NetnsChromium | undefined;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'nat-probe-html-'));
  const file = join(dir, 'matrix.html');

  beforeAll(async () => {
    // One cell differs from theory, so the outline and the differences list have something to show.
    const result = sampleMatrix([...TYPES], { override: (plan) => (plan.id === 'symmetric~symmetric' ? { direct: trials(3, 1) } : undefined) });
    writeFileSync(file, renderLabMatrixHtml(buildLabMatrixReport(result, { version: 'test' })));
    netns = await launchChromiumInNetns(gate.paths.chromium!, `nphtml-${process.pid.toString(16)}`, { flags: NO_NETWORK_FLAGS });
    browser = netns.browser;
  }, 40_000);

  afterAll(async () => {
    await netns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the heatmap grid, readable cells, the differences, and fetches nothing', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    const page = await context.newPage();
    const url = pathToFileURL(file).href;
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url() === url ? route.continue() : route.abort();
    });
    await page.goto(url, { timeout: 15_000 });

    const cells = page.locator('table[data-grid="measured"] td.cell');
    expect(await cells.count()).toBe(16);
    expect(await page.locator('table[data-grid="theory"] td.theory').count()).toBe(16);
    expect((await page.locator('[data-cell="port-restricted~port-restricted"]').textContent())?.trim()).toBe('3/3');
    expect((await page.locator('[data-cell="port-restricted~symmetric"]').first().textContent())?.trim()).toBe('0/3');
    const mismatch = page.locator('[data-cell="symmetric~symmetric"]');
    expect((await mismatch.textContent())?.trim()).toBe('1/3');
    expect(await mismatch.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    // Heat colours as the browser computed them: green for 3/3, red for 0/3.
    const background = (id: string): Promise<string> => page.locator(`[data-cell="${id}"]`).first().evaluate((el) => getComputedStyle(el).backgroundColor);
    const [green, red] = [await background('port-restricted~port-restricted'), await background('port-restricted~symmetric')];
    const rgb = (text: string): number[] => text.match(/\d+/g)!.slice(0, 3).map(Number);
    expect(rgb(green)[1]!).toBeGreaterThan(rgb(green)[0]! + 50);
    expect(rgb(red)[0]!).toBeGreaterThan(rgb(red)[1]! + 50);
    expect(await page.locator('[data-verdict="differs"]').textContent()).toContain('1 of 10 cells differ');
    expect(await page.locator('ul[data-differences="1"] li').textContent()).toContain('symmetric~symmetric: direct 1/3 connected, theory says none connects');
    expect(await page.locator('circle[data-sample="direct"]').count()).toBe(3 * 8 + 1);
    expect(await page.locator('tr[data-detect]').count()).toBe(10);
    // The page, and only the page, was requested.
    expect(requests).toEqual([url]);

    // The screenshot of the heatmap is a real picture: its size is the grid's, and it holds
    // clearly red and clearly green pixels (decoded by the browser itself, on a blank page).
    const grid = page.locator('table[data-grid="measured"]');
    const box = (await grid.boundingBox())!;
    expect(box.width).toBeGreaterThan(250);
    const png = await grid.screenshot({ timeout: 10_000 });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(Math.round(box.width));
    const blank = await context.newPage();
    const colours = await blank.evaluate(async (data) => {
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
      let reddish = 0;
      let greenish = 0;
      const distinct = new Set<number>();
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!];
        distinct.add((r << 16) | (g << 8) | b);
        if (r > g + 60 && r > b + 60) reddish++;
        if (g > r + 60 && g > b + 30) greenish++;
      }
      return { reddish, greenish, distinct: distinct.size, total: pixels.length / 4 };
    }, png.toString('base64'));
    expect(colours.greenish).toBeGreaterThan(colours.total / 20);
    expect(colours.reddish).toBeGreaterThan(colours.total / 50);
    expect(colours.distinct).toBeGreaterThan(20);
    await context.close();
  }, 60_000);
});
