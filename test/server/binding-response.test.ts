import { describe, expect, it } from 'vitest';
import { answerRequest, type Decision, type ServerView } from '../../src/server/binding-response.js';
import { otherSocket, responseSocket, SOCKET_ROLES, type SocketRole } from '../../src/server/roles.js';
import {
  AttributeType,
  StunMethod,
  attr,
  decodeMessage,
  encodeMessage,
  getAttribute,
  newTransactionId,
  type DecodedStunMessage,
  type EncodeOptions,
  type StunAttribute,
  type StunMessage,
  type TransportAddress,
} from '../../src/stun/index.js';

const ADDRESSES: Record<SocketRole, TransportAddress> = {
  primary: { family: 4, address: '203.0.113.1', port: 3478 },
  alternateIp: { family: 4, address: '203.0.113.2', port: 3478 },
  alternatePort: { family: 4, address: '203.0.113.1', port: 3479 },
  alternateIpAndPort: { family: 4, address: '203.0.113.2', port: 3479 },
};
const CLIENT: TransportAddress = { family: 4, address: '198.51.100.7', port: 40000 };

function view(overrides: Partial<ServerView> = {}): ServerView {
  return {
    rfc5780: true,
    addressOf: (role) => ADDRESSES[role],
    originKnown: true,
    software: 'nat-probe/test',
    maxResponsePadding: 1500,
    ...overrides,
  };
}

const plainView = (): ServerView => view({ rfc5780: false, addressOf: (role) => (role === 'primary' ? ADDRESSES.primary : undefined) });

function request(attributes: StunAttribute[] = [], extra: Partial<StunMessage> = {}, encode: EncodeOptions = {}): DecodedStunMessage {
  const message: StunMessage = { class: 'request', method: StunMethod.binding, transactionId: newTransactionId(), attributes, ...extra };
  return decodeMessage(encodeMessage(message, encode));
}

function answer(message: DecodedStunMessage, serverView = view(), receivedOn: SocketRole = 'primary') {
  const decision = answerRequest(message, message.raw.length, CLIENT, receivedOn, serverView);
  if (decision.action !== 'respond') throw new Error(`expected a response, got ${decision.reason}`);
  return { decision, response: decodeMessage(decision.bytes) };
}

const names = (message: StunMessage): string[] => message.attributes.map((a) => (a.name === 'UNKNOWN' ? `0x${a.type.toString(16)}` : a.name));

describe('RFC 5780 §6.1 Table 1: which socket answers', () => {
  it('flips IP and/or port relative to the socket the request arrived on', () => {
    for (const role of SOCKET_ROLES) {
      expect(responseSocket(role, { changeIp: false, changePort: false })).toBe(role);
      expect(responseSocket(responseSocket(role, { changeIp: true, changePort: false }), { changeIp: true, changePort: false })).toBe(role);
    }
    expect(responseSocket('primary', { changeIp: true, changePort: false })).toBe('alternateIp');
    expect(responseSocket('primary', { changeIp: false, changePort: true })).toBe('alternatePort');
    expect(responseSocket('primary', { changeIp: true, changePort: true })).toBe('alternateIpAndPort');
    expect(responseSocket('alternateIp', { changeIp: false, changePort: true })).toBe('alternateIpAndPort');
    expect(otherSocket('alternateIpAndPort')).toBe('primary');
    expect(otherSocket('alternatePort')).toBe('alternateIp');
  });
});

describe('answerRequest: success responses', () => {
  it('carries XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN and OTHER-ADDRESS (Ca:Cp of the receiving socket)', () => {
    const { decision, response } = answer(request(), view(), 'alternatePort');
    expect(decision.sendFrom).toBe('alternatePort');
    expect(response.class).toBe('successResponse');
    expect(getAttribute(response, 'XOR-MAPPED-ADDRESS')).toEqual(CLIENT);
    expect(getAttribute(response, 'MAPPED-ADDRESS')).toEqual(CLIENT);
    expect(getAttribute(response, 'RESPONSE-ORIGIN')).toEqual(ADDRESSES.alternatePort);
    expect(getAttribute(response, 'OTHER-ADDRESS')).toEqual(ADDRESSES.alternateIp);
  });

  it('answers CHANGE-REQUEST from the changed socket and names it in RESPONSE-ORIGIN', () => {
    const { decision, response } = answer(request([attr('CHANGE-REQUEST', { changeIp: true, changePort: true })]));
    expect(decision.sendFrom).toBe('alternateIpAndPort');
    expect(getAttribute(response, 'RESPONSE-ORIGIN')).toEqual(ADDRESSES.alternateIpAndPort);
    // OTHER-ADDRESS is Ca:Cp whatever the flags (Table 1).
    expect(getAttribute(response, 'OTHER-ADDRESS')).toEqual(ADDRESSES.alternateIpAndPort);
  });

  it('sends to RESPONSE-PORT on the client IP, while XOR-MAPPED-ADDRESS keeps the real source', () => {
    const { decision, response } = answer(request([attr('RESPONSE-PORT', 50000)]));
    expect(decision.to).toEqual({ address: CLIENT.address, port: 50000 });
    expect(getAttribute(response, 'XOR-MAPPED-ADDRESS')).toEqual(CLIENT);
  });

  it('omits RESPONSE-ORIGIN when bound to a wildcard address', () => {
    const { response } = answer(request(), view({ rfc5780: false, originKnown: false }));
    expect(names(response)).toEqual(['XOR-MAPPED-ADDRESS', 'MAPPED-ADDRESS']);
  });

  it('echoes FINGERPRINT only when the request has it', () => {
    expect(names(answer(request([], {}, { fingerprint: true })).response).at(-1)).toBe('FINGERPRINT');
    expect(names(answer(request()).response)).not.toContain('FINGERPRINT');
  });
});

describe('answerRequest: errors and discards', () => {
  it('answers 420 with UNKNOWN-ATTRIBUTES for unknown comprehension-required attributes, ignores optional ones', () => {
    const message = request([
      { name: 'UNKNOWN', type: 0x7f01, value: new Uint8Array(4) },
      { name: 'UNKNOWN', type: 0xc001, value: new Uint8Array(4) },
      { name: 'UNKNOWN', type: 0x7f02, value: new Uint8Array(0) },
    ]);
    const { decision, response } = answer(message);
    expect(decision.outcome).toBe('error');
    expect(getAttribute(response, 'ERROR-CODE')?.code).toBe(420);
    expect(getAttribute(response, 'UNKNOWN-ATTRIBUTES')).toEqual([0x7f01, 0x7f02]);
  });

  it('answers 400 to PADDING together with RESPONSE-PORT (RFC 5780 §6.1, §10)', () => {
    const { decision, response } = answer(request([attr('PADDING', new Uint8Array(64)), attr('RESPONSE-PORT', 50000)]));
    expect(getAttribute(response, 'ERROR-CODE')?.code).toBe(400);
    expect(decision.to).toEqual({ address: CLIENT.address, port: CLIENT.port });
  });

  it('answers 400 to RESPONSE-PORT 0', () => {
    expect(getAttribute(answer(request([attr('RESPONSE-PORT', 0)])).response, 'ERROR-CODE')?.code).toBe(400);
  });

  it('without an alternate: 420 to any CHANGE-REQUEST, even with no flags, and no OTHER-ADDRESS', () => {
    for (const flags of [{ changeIp: false, changePort: false }, { changeIp: false, changePort: true }]) {
      const { response } = answer(request([attr('CHANGE-REQUEST', flags)]), plainView());
      expect(getAttribute(response, 'ERROR-CODE')?.code).toBe(420);
      expect(getAttribute(response, 'UNKNOWN-ATTRIBUTES')).toEqual([AttributeType['CHANGE-REQUEST']]);
    }
    expect(names(answer(request(), plainView()).response)).toEqual(['XOR-MAPPED-ADDRESS', 'MAPPED-ADDRESS', 'RESPONSE-ORIGIN']);
  });

  it('discards indications, responses and non-Binding methods (RFC 8489 §6.3)', () => {
    const decide = (message: DecodedStunMessage): Decision => answerRequest(message, message.raw.length, CLIENT, 'primary', view());
    expect(decide(request([], { class: 'indication' }))).toEqual({ action: 'ignore', reason: 'indication' });
    expect(decide(request([], { class: 'successResponse' }))).toEqual({ action: 'ignore', reason: 'response' });
    expect(decide(request([], { method: StunMethod.allocate }))).toEqual({ action: 'ignore', reason: 'unsupported-method' });
  });
});

describe('answerRequest: RFC 3489 clients', () => {
  const legacy = (attributes: StunAttribute[]) => request(attributes, { magicCookie: 0x0badcafe });

  it('answers with MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS, echoing the cookie field', () => {
    const { decision, response } = answer(legacy([attr('CHANGE-REQUEST', { changeIp: true, changePort: false })]));
    expect(decision.legacy).toBe(true);
    expect(response.magicCookie).toBe(0x0badcafe);
    expect(names(response)).toEqual(['MAPPED-ADDRESS', 'SOURCE-ADDRESS', 'CHANGED-ADDRESS']);
    expect(getAttribute(response, 'SOURCE-ADDRESS')).toEqual(ADDRESSES.alternateIp);
    expect(getAttribute(response, 'CHANGED-ADDRESS')).toEqual(ADDRESSES.alternateIpAndPort);
  });

  it('without an alternate, answers the no-flags CHANGE-REQUEST every RFC 3489 request carries', () => {
    const { response } = answer(legacy([attr('CHANGE-REQUEST', { changeIp: false, changePort: false })]), plainView());
    expect(names(response)).toEqual(['MAPPED-ADDRESS', 'SOURCE-ADDRESS']);
    const refused = answer(legacy([attr('CHANGE-REQUEST', { changeIp: true, changePort: false })]), plainView()).response;
    expect(getAttribute(refused, 'ERROR-CODE')?.code).toBe(420);
    // RFC 3489 §11.2.10: an odd list repeats an entry to stay 4-byte aligned.
    expect(getAttribute(refused, 'UNKNOWN-ATTRIBUTES')).toEqual([3, 3]);
  });
});

describe('answerRequest: amplification budget', () => {
  const bigOptional = (bytes: number): StunAttribute => ({ name: 'UNKNOWN', type: 0x8fff, value: new Uint8Array(bytes) });

  it('sends the RFC-mandatory floor to a bare 20-byte request and leaves SOFTWARE out', () => {
    const { decision } = answer(request());
    // 20 header + XOR-MAPPED, MAPPED, RESPONSE-ORIGIN, OTHER-ADDRESS at 12 bytes each.
    expect(decision.bytes.length).toBe(68);
    expect(decision.trimmed).toEqual(['SOFTWARE']);
  });

  it('adds SOFTWARE only when the response still fits in the request size', () => {
    const message = request([bigOptional(100)]);
    const { decision, response } = answer(message);
    expect(getAttribute(response, 'SOFTWARE')).toBe('nat-probe/test');
    expect(decision.bytes.length).toBeLessThanOrEqual(message.raw.length);
    // One byte short of room for SOFTWARE (4 + 16 bytes) beyond the 68-byte floor: left out.
    const tight = request([bigOptional(68 + 20 - 20 - 4 - 4)]);
    expect(tight.raw.length).toBe(68 + 20 - 4);
    expect(getAttribute(answer(tight).response, 'SOFTWARE')).toBeUndefined();
  });

  it('trims the reason phrase of an error before exceeding the request', () => {
    const small = request([{ name: 'UNKNOWN', type: 0x7f01, value: new Uint8Array(0) }]);
    const { decision, response } = answer(small);
    expect(getAttribute(response, 'ERROR-CODE')).toEqual({ code: 420, reason: '' });
    expect(decision.trimmed).toEqual(['SOFTWARE', 'reason phrase']);
    const big = answer(request([{ name: 'UNKNOWN', type: 0x7f01, value: new Uint8Array(0) }, bigOptional(200)]));
    expect(getAttribute(big.response, 'ERROR-CODE')).toEqual({ code: 420, reason: 'Unknown Attribute' });
    expect(getAttribute(big.response, 'SOFTWARE')).toBe('nat-probe/test');
  });

  it('mirrors the request PADDING (RFC 5780 §6.1), capped at maxResponsePadding', () => {
    const mirrored = answer(request([attr('PADDING', new Uint8Array(1001))])).response;
    expect(getAttribute(mirrored, 'PADDING')?.length).toBe(1004);
    const capped = answer(request([attr('PADDING', new Uint8Array(4000))])).response;
    expect(getAttribute(capped, 'PADDING')?.length).toBe(1500);
    const tiny = answer(request([attr('PADDING', new Uint8Array(4))]));
    expect(getAttribute(tiny.response, 'PADDING')?.length).toBe(4);
    expect(tiny.decision.bytes.length).toBe(68 + 8);
  });
});
