/** The pure parts of TURN over TLS: the SNI a turns: URL sends, and how a failed handshake is worded. */
import { describe, expect, it } from 'vitest';
import { defaultServername, describeTlsFailure } from '../../src/turn/index.js';

const tlsError = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('defaultServername (RFC 6066 §3: SNI carries a host name, never an IP)', () => {
  it('is the URL host when it is a name (without a trailing dot), none for an IP, and an explicit servername wins', () => {
    expect(defaultServername('turn.example.com', undefined)).toBe('turn.example.com');
    expect(defaultServername('turn.example.com.', {})).toBe('turn.example.com');
    expect(defaultServername('127.0.0.1', undefined)).toBeUndefined();
    expect(defaultServername('::1', {})).toBeUndefined();
    expect(defaultServername('127.0.0.1', { servername: 'localhost' })).toBe('localhost');
  });
});

describe('describeTlsFailure', () => {
  it('an untrusted certificate: the verifier\'s words and the advice to pass the CA with --turn-ca', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
      const { reason, advice } = describeTlsFailure(tlsError(code, 'self-signed certificate'), undefined);
      expect(reason).toBe(`self-signed certificate (${code})`);
      expect(advice).toContain('--turn-ca FILE');
    }
  });

  it('an expired certificate, a name mismatch, and anything else each get their own advice', () => {
    expect(describeTlsFailure(tlsError('CERT_HAS_EXPIRED', 'certificate has expired'), 'h').advice).toMatch(/renew/);
    expect(describeTlsFailure(tlsError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'turn.example.com').advice).toContain('"turn.example.com"');
    expect(describeTlsFailure(tlsError('ERR_TLS_CERT_ALTNAME_INVALID', 'IP does not match'), undefined).advice).toContain('the IP address in the URL');
    expect(describeTlsFailure(tlsError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), undefined).advice).toContain('speaks TLS');
  });

  it('keeps a multi-line message on one line, and does not repeat a code the message already has', () => {
    expect(describeTlsFailure(tlsError('ECONNRESET', 'Client network socket disconnected\n  before secure TLS connection was established'), undefined).reason).toBe(
      'Client network socket disconnected before secure TLS connection was established (ECONNRESET)',
    );
    expect(describeTlsFailure(tlsError('X', 'failed: X'), undefined).reason).toBe('failed: X');
  });
});
