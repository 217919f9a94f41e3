/**
 * A throwaway self-signed certificate for TURN-over-TLS tests: `openssl req -x509` into a
 * private mktemp folder, valid for a day, for CN=localhost with the names a loopback test
 * connects by (DNS:localhost, IP:127.0.0.1). Free of vitest imports, like coturn.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTool } from './tools.js';

export interface TestCertificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The certificate in PEM: what a client passes as `ca` to trust it. */
  readonly certPem: string;
  remove(): void;
}

export async function makeSelfSignedCertificate(commonName = 'localhost'): Promise<TestCertificate> {
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found on PATH; install openssl');
  const dir = mkdtempSync(join(tmpdir(), 'nat-probe-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    await promisify(execFile)(
      openssl,
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=DNS:${commonName},IP:127.0.0.1`, '-days', '1', '-keyout', keyFile, '-out', certFile],
      { timeout: 30_000 },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
