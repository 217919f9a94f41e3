/**
 * The field probe on loopback: time from opening the link to the customer's result sentence
 * (median of FIELD_BENCH_RUNS visits, default 10), and what the page costs in bytes (HTTP
 * requests and responses with their headers, plus WebSocket signaling payloads, per visit).
 *
 * Baseline, same run, same namespace: the nat-probe CLI doing the same checks: `nat-probe serve`
 * once (not timed), then two `nat-probe peer --survey --stun …` processes in one room, timed from
 * their spawn until both exited (median of the same number of runs).
 *
 * Chromium and every nat-probe process run inside a namespace of ours with only loopback
 * (test/helpers/chromium-netns.ts). Needs chromium, iproute2, root and a built dist/.
 */
import { spawn } from 'node:child_process';
import type { Page } from 'playwright-core';
import { assertBuilt, BIN, firstLine, spawnCli, stopProcess } from '../test/helpers/cli.js';
import { launchChromiumInNetns } from '../test/helpers/chromium-netns.js';
import { findTool } from '../test/helpers/tools.js';
import { median, percentile, type BenchResult } from './harness.js';

const RUNS = Number(process.env.FIELD_BENCH_RUNS ?? 10);

/** Bytes one page visit moved: every HTTP exchange (headers and bodies) and every WebSocket payload. */
function countBytes(page: Page): () => Promise<number> {
  const requests: Promise<number>[] = [];
  let ws = 0;
  page.on('requestfinished', (request) => {
    requests.push(request.sizes().then((s) => s.requestHeadersSize + s.requestBodySize + s.responseHeadersSize + s.responseBodySize));
  });
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => (ws += Buffer.byteLength(frame.payload)));
    socket.on('framereceived', (frame) => (ws += Buffer.byteLength(frame.payload)));
  });
  return async () => (await Promise.all(requests)).reduce((a, b) => a + b, 0) + ws;
}

/** Runs the CLI in the namespace to completion; resolves with its exit code. */
function runInNamespace(namespace: string, args: readonly string[]): Promise<number | null> {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, BIN, ...args], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), resolve(code))));
}

export default async function fieldBench(): Promise<BenchResult[]> {
  assertBuilt();
  const chromiumPath = findTool('chromium');
  if (chromiumPath === undefined || findTool('ip') === undefined) throw new Error('needs chromium and iproute2 (apt-get install chromium iproute2)');
  const netns = await launchChromiumInNetns(chromiumPath, `np10-b${process.pid}`);
  const namespace = netns.namespace;
  const visitMs: number[] = [];
  const bytes: number[] = [];
  const cliMs: number[] = [];
  let connected = 0;
  try {
    // The field side: one link that serves every timed visit, plus one warm-up.
    const field = spawnCli(['field', '--listen', '127.0.0.1:0', '--stun-port', '0', '--json', '--link-visits', String(RUNS + 1), '--visits', String(RUNS + 1)], { namespace });
    try {
      const link = (JSON.parse(await firstLine(field, 15_000)) as { link: string }).link;
      for (let i = 0; i <= RUNS; i++) {
        const context = await netns.browser.newContext();
        await context.grantPermissions(['camera', 'microphone'], { origin: new URL(link).origin });
        const page = await context.newPage();
        const total = countBytes(page);
        const started = performance.now();
        await page.goto(link, { timeout: 15_000 });
        await page.waitForSelector('main[data-done="true"]', { timeout: 40_000 });
        const elapsed = performance.now() - started;
        const code = await page.locator('#result').getAttribute('data-code');
        await context.close();
        if (i === 0) continue; // warm-up: chromium's first WebRTC start-up
        visitMs.push(elapsed);
        bytes.push(await total());
        if (code === 'direct') connected++;
      }
    } finally {
      await stopProcess(field);
    }

    // The baseline: the CLI's own two peers surveying the same loopback pairs.
    const serve = spawnCli(['serve', '--port', '0', '--signal-port', '0', '--json'], { namespace });
    try {
      const announced = JSON.parse(await firstLine(serve, 15_000)) as { stun: { primary: string }; signaling: { url: string } };
      for (let i = 0; i <= RUNS; i++) {
        const peer = ['peer', '--signal', announced.signaling.url, '--room', `bench-${i}`, '--stun', announced.stun.primary, '--survey', '--json'];
        const started = performance.now();
        const codes = await Promise.all([runInNamespace(namespace, peer), runInNamespace(namespace, peer)]);
        const elapsed = performance.now() - started;
        if (codes.some((code) => code !== 0)) throw new Error(`the baseline peers exited with ${codes.join(', ')}`);
        if (i > 0) cliMs.push(elapsed);
      }
    } finally {
      await stopProcess(serve);
    }
  } finally {
    await netns.close();
  }
  return [
    {
      name: `field: link opened → customer's result on screen (chromium ↔ nat-probe, loopback, median of ${RUNS})`,
      value: median(visitMs),
      unit: 'ms',
      baseline: { label: 'two `nat-probe peer --survey` processes, spawn → both exited', value: median(cliMs) },
      notes: `visits p90 ${percentile(visitMs, 90).toFixed(0)} ms, min ${Math.min(...visitMs).toFixed(0)} ms; ${connected}/${RUNS} read "direct"; baseline p90 ${percentile(cliMs, 90).toFixed(0)} ms`,
    },
    {
      name: 'field: bytes one visit moves (HTTP with headers + WebSocket payloads)',
      value: median(bytes),
      unit: 'B',
      notes: `min ${Math.min(...bytes)} B, max ${Math.max(...bytes)} B`,
    },
  ];
}
