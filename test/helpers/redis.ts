/**
 * A real redis-server for a test or bench: started on a free loopback port without persistence
 * (`--save '' --appendonly no`), stopped by its own PID. No vitest import: benches use it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { supervise, type SupervisedChild } from './child.js';
import { toolGate, type ToolGate } from './tools.js';

export const redisGate: ToolGate = toolGate(['redis-server'], 'apt-get install redis-server');

/** A free TCP port on 127.0.0.1 (bound and released; the OS does not hand it out again at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class RedisProcess {
  private child: ChildProcess | undefined;
  private supervised: SupervisedChild | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts redis-server on a free port (or `port`) and waits until it accepts connections. */
  static async start(port?: number): Promise<RedisProcess> {
    const redis = new RedisProcess(port ?? (await freePort()));
    await redis.launch();
    return redis;
  }

  private async launch(): Promise<void> {
    const binary = redisGate.paths['redis-server'] ?? 'redis-server';
    const child = spawn(binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const supervised = supervise(child);
    this.supervised = supervised;
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const lines = createInterface({ input: child.stdout! });
    // Redis 7 logs "Ready to accept connections" once it listens.
    const ready = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        output += `${line}\n`;
        if (line.includes('Ready to accept connections')) resolve();
      });
      void supervised.exited.then(() => reject(new Error(`redis-server on port ${this.port} exited: ${output}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`redis-server on port ${this.port} was not ready within 10 s: ${output}`)), 10_000);
        }),
      ]);
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills redis at once (SIGKILL: no persistence, so its data is gone); restart() starts a fresh one. */
  kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    return this.supervised?.exited ?? Promise.resolve();
  }

  /** Kills redis (no persistence, so its data is gone) and starts a fresh one on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.supervised?.stop(2_000);
    this.supervised = undefined;
    this.child = undefined;
  }
}
