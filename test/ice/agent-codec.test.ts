/** The connectivity-check messages (check-codec.ts) and the credentials, without sockets. */
import { describe, expect, it } from 'vitest';
import { encodeCheckError, encodeCheckRequest, encodeCheckSuccess, readCheckResponse, validateCheckRequest } from '../../src/ice/check-codec.js';
import { assertIceParameters, generateLocalParameters } from '../../src/ice/credentials.js';
import { IceOptionError } from '../../src/ice/errors.js';
import { attr, decodeMessage, encodeMessage, getAttribute, hasAttribute, newTransactionId, shortTermKey, StunMethod } from '../../src/stun/index.js';

const local = { ufrag: 'LFRG', pwd: 'localPasswordLocalPass1' };
const remote = { ufrag: 'RFRG', pwd: 'remotePasswordRemotePa2' };

function request(overrides: Partial<Parameters<typeof encodeCheckRequest>[0]> = {}) {
  return decodeMessage(
    encodeCheckRequest({
      transactionId: newTransactionId(),
      localUfrag: remote.ufrag,
      remoteUfrag: local.ufrag,
      remoteKey: shortTermKey(local.pwd),
      priority: 1_853_824_767,
      role: 'controlling',
      tieBreaker: 0xfedcba9876543210n,
      useCandidate: true,
      ...overrides,
    }),
  );
}

describe('check requests (RFC 8445 §7.1, §7.2.2)', () => {
  it('carry USERNAME "RFRAG:LFRAG", PRIORITY, the role with its tie-breaker, USE-CANDIDATE, MESSAGE-INTEGRITY and FINGERPRINT last', () => {
    const message = request();
    expect(getAttribute(message, 'USERNAME')).toBe('LFRG:RFRG');
    expect(getAttribute(message, 'PRIORITY')).toBe(1_853_824_767);
    expect(getAttribute(message, 'ICE-CONTROLLING')).toBe(0xfedcba9876543210n);
    expect(hasAttribute(message, 'USE-CANDIDATE')).toBe(true);
    expect(message.attributes.map((a) => a.name).slice(-2)).toEqual(['MESSAGE-INTEGRITY', 'FINGERPRINT']);
    expect(validateCheckRequest(message, local.ufrag, shortTermKey(local.pwd))).toEqual({
      ok: true,
      remoteUfrag: 'RFRG',
      priority: 1_853_824_767,
      useCandidate: true,
      remoteRole: 'controlling',
      remoteTieBreaker: 0xfedcba9876543210n,
    });
  });

  it('are refused with 401 for a foreign ufrag or a wrong key, 400 when USERNAME, PRIORITY or the role is missing, 420 for unknown required attributes', () => {
    const key = shortTermKey(local.pwd);
    expect(validateCheckRequest(request({ remoteUfrag: 'OTHR' }), local.ufrag, key)).toMatchObject({ ok: false, code: 401, authenticated: false });
    expect(validateCheckRequest(request({ remoteKey: shortTermKey('wrongPasswordWrongPass') }), local.ufrag, key)).toMatchObject({ ok: false, code: 401 });
    const build = (attributes: Parameters<typeof attr>[] , withKey = true) =>
      decodeMessage(
        encodeMessage(
          { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes: attributes.map(([n, v]) => attr(n, v as never)) },
          withKey ? { integrityKey: key, fingerprint: true } : { fingerprint: true },
        ),
      );
    expect(validateCheckRequest(build([['PRIORITY', 1]], false), local.ufrag, key)).toMatchObject({ ok: false, code: 400 });
    expect(validateCheckRequest(build([['USERNAME', 'LFRG:RFRG'], ['ICE-CONTROLLED', 1n]]), local.ufrag, key)).toMatchObject({ ok: false, code: 400, authenticated: true });
    expect(validateCheckRequest(build([['USERNAME', 'LFRG:RFRG'], ['PRIORITY', 1]]), local.ufrag, key)).toMatchObject({ ok: false, code: 400 });
    expect(
      validateCheckRequest(build([['USERNAME', 'LFRG:RFRG'], ['PRIORITY', 1], ['ICE-CONTROLLED', 1n], ['ICE-CONTROLLING', 2n]]), local.ufrag, key),
    ).toMatchObject({ ok: false, code: 400 });
    const unknown = decodeMessage(
      encodeMessage(
        {
          class: 'request',
          method: StunMethod.binding,
          transactionId: newTransactionId(),
          attributes: [attr('USERNAME', 'LFRG:RFRG'), attr('PRIORITY', 1), attr('ICE-CONTROLLED', 1n), { name: 'UNKNOWN', type: 0x7777, value: new Uint8Array(4) }],
        },
        { integrityKey: key, fingerprint: true },
      ),
    );
    expect(validateCheckRequest(unknown, local.ufrag, key)).toMatchObject({ ok: false, code: 420, unknownAttributes: [0x7777] });
  });
});

describe('check responses (RFC 8445 §7.2.5, §7.3.1.2)', () => {
  it('a success carries XOR-MAPPED-ADDRESS and is authenticated with the answering agent’s password', () => {
    const req = request();
    const source = { family: 4 as const, address: '198.51.100.7', port: 40_000 };
    const response = decodeMessage(encodeCheckSuccess(req, source, shortTermKey(local.pwd)));
    expect(response.transactionId).toEqual(req.transactionId);
    expect(readCheckResponse(response, shortTermKey(local.pwd))).toEqual({ kind: 'success', mappedAddress: source });
    expect(readCheckResponse(response, shortTermKey(remote.pwd))).toMatchObject({ kind: 'unauthenticated', detail: expect.stringMatching(/does not match/) });
  });

  it('487 carries integrity; 400/401 do not and are still read; other unauthenticated errors are discarded', () => {
    const req = request();
    const key = shortTermKey(local.pwd);
    const conflict = decodeMessage(encodeCheckError(req, 487, 'Role Conflict', { key }));
    expect(hasAttribute(conflict, 'MESSAGE-INTEGRITY')).toBe(true);
    expect(readCheckResponse(conflict, key)).toEqual({ kind: 'error', code: 487, reason: 'Role Conflict' });
    const unauthorized = decodeMessage(encodeCheckError(req, 401, 'Unauthorized'));
    expect(hasAttribute(unauthorized, 'MESSAGE-INTEGRITY')).toBe(false);
    expect(readCheckResponse(unauthorized, key)).toEqual({ kind: 'error', code: 401, reason: 'Unauthorized' });
    const spoofedConflict = decodeMessage(encodeCheckError(req, 487, 'Role Conflict'));
    expect(readCheckResponse(spoofedConflict, key)).toMatchObject({ kind: 'unauthenticated' });
    const unknown = decodeMessage(encodeCheckError(req, 420, 'Unknown Attribute', { key, unknownAttributes: [0x7777] }));
    expect(getAttribute(unknown, 'UNKNOWN-ATTRIBUTES')).toEqual([0x7777]);
  });
});

describe('ICE credentials (RFC 8445 §5.3, RFC 8839 §5.4)', () => {
  it('are fresh ice-chars of the right length, with a 64-bit tie-breaker', () => {
    const a = generateLocalParameters();
    const b = generateLocalParameters();
    expect(a.ufrag).toMatch(/^[A-Za-z0-9+/]{8}$/);
    expect(a.pwd).toMatch(/^[A-Za-z0-9+/]{24}$/);
    expect(a.ufrag).not.toBe(b.ufrag);
    expect(a.pwd).not.toBe(b.pwd);
    expect(a.tieBreaker).toBeLessThan(1n << 64n);
    expect(generateLocalParameters(() => 0.5).tieBreaker).toBe(0x8000800080008000n);
  });

  it('remote parameters with a short password or bad characters are refused', () => {
    expect(() => assertIceParameters({ ufrag: 'abcd', pwd: 'short' }, 'remote')).toThrow(IceOptionError);
    expect(() => assertIceParameters({ ufrag: 'a:b!', pwd: 'x'.repeat(22) }, 'remote')).toThrow(/ice-ufrag/);
    expect(() => assertIceParameters({ ufrag: 'abcd', pwd: 'x'.repeat(22) }, 'remote')).not.toThrow();
  });
});
