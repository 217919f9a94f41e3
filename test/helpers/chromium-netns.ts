/**
 * Headless chromium inside a network namespace of ours that has only loopback, for the field
 * probe's test and bench: its WebRTC gathers and checks nothing but 127.0.0.1/::1, and nothing
 * can reach the host's network. playwright-core drives it over a pipe, which crosses namespaces,
 * through a wrapper executable that enters the namespace. No vitest import (the bench uses it).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';

/** Flags that keep chromium off the network and quiet: no updates, sync, metrics, DNS or proxies. */
export const QUIET_CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox', // root in CI; the pages are our own
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--disable-breakpad',
  '--metrics-recording-only',
  '--no-proxy-server',
];

/** Quiet and off any network, plus WebRTC on loopback. */
export const FIELD_CHROMIUM_FLAGS = [
  ...QUIET_CHROMIUM_FLAGS,
  // No name resolves, except the loopback literal the link uses (the namespace has nothing else).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  // Without it chromium gathers no loopback candidate at all.
  '--allow-loopback-in-peer-connection',
  // Host candidates as plain IPs, not random .local names (see the field test).
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export interface NetnsChromium {
  readonly namespace: string;
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * Makes namespace `name` (lo up, then `setup` for more), and launches chromium in it; with
 * `existing`, launches it in a namespace someone else owns (a lab client) and leaves it be.
 */
export async function launchChromiumInNetns(chromiumPath: string, name: string, options: { flags?: readonly string[]; setup?: (namespace: string) => void; existing?: boolean } = {}): Promise<NetnsChromium> {
  const dir = mkdtempSync(join(tmpdir(), 'nat-probe-chromium-'));
  const owned = options.existing !== true;
  if (owned) execFileSync('ip', ['netns', 'add', name]);
  const cleanup = (): void => {
    try {
      if (owned) execFileSync('ip', ['netns', 'del', name]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (owned) execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    options.setup?.(name);
    const wrapper = join(dir, 'chromium-in-netns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${chromiumPath} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: wrapper, args: [...(options.flags ?? FIELD_CHROMIUM_FLAGS)], timeout: 30_000 });
    return {
      namespace: name,
      browser,
      async close() {
        await browser.close().catch(() => undefined);
        cleanup();
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
