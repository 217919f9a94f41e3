/**
 * The one HTTP helper of the UPnP probe: a single request on its own connection (no agent, no
 * keep-alive), so nothing stays open after `detect` ends, with a size cap and a signal.
 */
import { request } from 'node:http';

const MAX_BODY = 256 * 1024;

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpText(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== 'http:') {
      reject(new Error(`${url}: only http:// is spoken to a gateway`));
      return;
    }
    const req = request(
      target,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: { connection: 'close', ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }), ...options.headers },
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            req.destroy(new Error(`${url}: answer larger than ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
