import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startSignalingServer, type SignalingServer } from '../../src/signaling/index.js';
import { within } from './helpers.js';

const script = fileURLToPath(new URL('./fixtures/peer-process.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

let server: SignalingServer | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server?.close();
  server = undefined;
});

interface PeerSummary {
  name: string;
  pid: number;
  peerId: string;
  otherPeerId: string;
  ufrag: string;
  candidates: string[];
  result: { name: string; candidatesReceived: number };
}

/** Runs one peer process to completion and returns its summary line. */
function runPeer(url: string, room: string, name: string): Promise<PeerSummary> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, url, room, name], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${name} exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as PeerSummary);
    });
  });
}

it('pairs two peers running in separate OS processes', async () => {
  server = await startSignalingServer({ port: 0 });
  const [alice, bob] = await within(
    Promise.all([runPeer(server.url, 'two-processes', 'alice'), runPeer(server.url, 'two-processes', 'bob')]),
    25_000,
    'both peer processes to finish',
  );
  expect(alice.pid).not.toBe(bob.pid);
  expect(alice.otherPeerId).toBe(bob.peerId);
  expect(bob.otherPeerId).toBe(alice.peerId);
  expect(alice.ufrag).toBe('bobufrag');
  expect(bob.ufrag).toBe('aliceufrag');
  expect(alice.candidates).toEqual([21, 22, 23].map((n) => `candidate:${n} 1 udp ${2130706431 - (n - 20)} 127.0.0.1 ${40000 + n} typ host`));
  expect(bob.candidates).toEqual([11, 12, 13].map((n) => `candidate:${n} 1 udp ${2130706431 - (n - 10)} 127.0.0.1 ${40000 + n} typ host`));
  expect(alice.result).toEqual({ name: 'bob', candidatesReceived: 3 });
  expect(bob.result).toEqual({ name: 'alice', candidatesReceived: 3 });
}, 30_000);
