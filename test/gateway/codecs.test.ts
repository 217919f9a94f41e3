/** The port-mapping codecs against the packet layouts of RFC 6886, RFC 6887 and UPnP UDA 1.1. */
import { describe, expect, it } from 'vitest';
import {
  decodeExternalAddressResponse,
  decodeMapUdpResponse,
  encodeMapUdpRequest,
  decodePcpAddress,
  decodePcpResponseHeader,
  decodeSsdpResponse,
  encodeAnnounceRequest,
  encodeExternalAddressRequest,
  encodeMSearch,
  encodePcpAddress,
  encodeSoapAction,
  GatewayDecodeError,
  parseExternalIpResponse,
  parseIgdDescription,
  parseProcNetRoute,
} from '../../src/gateway/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('NAT-PMP (RFC 6886)', () => {
  it('asks for the external address with version 0, opcode 0 and nothing else (§3.2)', () => {
    expect([...encodeExternalAddressRequest()]).toEqual([0, 0]);
  });

  it('reads the 12-byte answer: version 0, opcode 128, result, epoch, address (§3.2)', () => {
    const r = decodeExternalAddressResponse(hex('00 80 0000 0000 1c20 cb00 710a'));
    expect(r).toEqual({ version: 0, resultCode: 0, epochSeconds: 7200, externalAddress: '203.0.113.10' });
  });

  it('reads an error result from the 8-byte header alone (§3.5)', () => {
    expect(decodeExternalAddressResponse(hex('00 80 0003 0000 0005'))).toMatchObject({ resultCode: 3, externalAddress: '' });
  });

  it('passes a PCP server\'s UNSUPP_VERSION answer through as version 2 (RFC 6887 §9)', () => {
    expect(decodeExternalAddressResponse(hex('02 80 0001 00000000'))).toMatchObject({ version: 2, resultCode: 1 });
  });

  it.each([
    ['too short', '00 80 00'],
    ['a success without the address', '00 80 0000 00000001'],
    ['the wrong opcode', '00 81 0000 00000001 01020304'],
  ])('rejects %s with a typed error', (_name, bytes) => {
    expect(() => decodeExternalAddressResponse(hex(bytes))).toThrow(GatewayDecodeError);
  });
});

describe('PCP (RFC 6887)', () => {
  it('encodes ANNOUNCE as the 24-byte request header: version 2, opcode 0, lifetime 0, IPv4-mapped client (§7.1, §14.1)', () => {
    const request = encodeAnnounceRequest('198.51.100.2');
    expect(request).toHaveLength(24);
    expect(Buffer.from(request).toString('hex')).toBe('0200000000000000' + '00000000000000000000ffff' + 'c6336402');
  });

  it('maps addresses both ways (§5)', () => {
    expect(decodePcpAddress(encodePcpAddress('100.64.0.2'))).toBe('100.64.0.2');
    expect(Buffer.from(encodePcpAddress('2001:db8::1')).toString('hex')).toBe('20010db8000000000000000000000001');
  });

  it('reads the response header: R bit, opcode, result, lifetime, epoch (§7.2)', () => {
    const header = decodePcpResponseHeader(hex('02 80 00 00  00000000  0000012c  000000000000000000000000'));
    expect(header).toEqual({ version: 2, opcode: 0, resultCode: 0, lifetimeSeconds: 0, epochSeconds: 300 });
    expect(decodePcpResponseHeader(hex('02 80 00 0c  00000000  0000012c  000000000000000000000000')).resultCode).toBe(12);
  });

  it('reads a NAT-PMP gateway\'s version-0 UNSUPP_VERSION reply (§9)', () => {
    expect(decodePcpResponseHeader(hex('00 80 0001 0000012c'))).toMatchObject({ version: 0, resultCode: 1 });
  });

  it('rejects a request echoed back and a truncated header', () => {
    expect(() => decodePcpResponseHeader(hex('02 00 00 00' + '00'.repeat(20)))).toThrow(/R bit/);
    expect(() => decodePcpResponseHeader(hex('02 80 00 00'))).toThrow(GatewayDecodeError);
  });
});

describe('SSDP and UPnP IGD (UDA 1.1)', () => {
  it('builds a unicast M-SEARCH without MX and a multicast one with it (§1.3.2)', () => {
    const unicast = encodeMSearch({ unicastTo: { address: '198.51.100.1', port: 1900 } });
    expect(unicast).toBe('M-SEARCH * HTTP/1.1\r\nHOST: 198.51.100.1:1900\r\nMAN: "ssdp:discover"\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n');
    expect(encodeMSearch({})).toContain('HOST: 239.255.255.250:1900\r\n');
    expect(encodeMSearch({})).toContain('MX: 1\r\n');
  });

  it('reads LOCATION and ST, header names in any case (§1.3.3)', () => {
    const r = decodeSsdpResponse('HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nst: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLocation: http://198.51.100.1:2189/rootDesc.xml\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n\r\n');
    expect(r).toMatchObject({ location: 'http://198.51.100.1:2189/rootDesc.xml', searchTarget: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1' });
    expect(() => decodeSsdpResponse('NOTIFY * HTTP/1.1\r\n\r\n')).toThrow(GatewayDecodeError);
    expect(() => decodeSsdpResponse('HTTP/1.1 200 OK\r\nST: x\r\n\r\n')).toThrow(/LOCATION/);
  });

  const description = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>1</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType><friendlyName>Lab &amp; router</friendlyName>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType><deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>/ctl/IPConn</controlURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>`;

  it('finds the IGD version and the WANIPConnection control URL, made absolute', () => {
    const igd = parseIgdDescription(description, 'http://198.51.100.1:2189/rootDesc.xml');
    expect(igd).toMatchObject({
      version: 'IGD:2',
      friendlyName: 'Lab & router',
      service: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2', controlUrl: 'http://198.51.100.1:2189/ctl/IPConn' },
    });
  });

  it('says when a device has no WAN connection service', () => {
    expect(parseIgdDescription('<root><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType></device></root>', 'http://x/').service).toBeUndefined();
    expect(() => parseIgdDescription('<html></html>', 'http://x/')).toThrow(/deviceType/);
  });

  it('builds the GetExternalIPAddress envelope and reads its answer or a UPnP error (§3.2)', () => {
    const soap = encodeSoapAction('urn:schemas-upnp-org:service:WANIPConnection:1', 'GetExternalIPAddress');
    expect(soap.soapAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress"');
    expect(soap.body).toContain('<u:GetExternalIPAddress xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"></u:GetExternalIPAddress>');
    expect(parseExternalIpResponse('<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>100.64.0.2</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>')).toEqual({ externalAddress: '100.64.0.2' });
    expect(parseExternalIpResponse('<s:Fault><detail><UPnPError><errorCode>501</errorCode><errorDescription>Action Failed</errorDescription></UPnPError></detail></s:Fault>')).toEqual({ errorCode: 501, errorDescription: 'Action Failed' });
  });
});

describe('the default route (/proc/net/route)', () => {
  it('finds the gateway of the default route, lowest metric first, in little-endian hex', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0',
      'eth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'wlan0\t00000000\t0100A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0',
    ].join('\n');
    expect(parseProcNetRoute(table)).toEqual([
      { interface: 'wlan0', address: '192.168.0.1', metric: 50 },
      { interface: 'eth0', address: '198.51.100.1', metric: 100 },
    ]);
  });
});

describe('NAT-PMP mapping (RFC 6886 §3.3, §3.4)', () => {
  it('encodes a UDP mapping request: version 0, opcode 1, reserved, internal, suggested external, lifetime', () => {
    expect(Buffer.from(encodeMapUdpRequest(40000, 40000, 60)).toString('hex')).toBe('0001' + '0000' + '9c40' + '9c40' + '0000003c');
    // Deletion: external port 0, lifetime 0 (§3.4).
    expect(Buffer.from(encodeMapUdpRequest(40000, 0, 0)).toString('hex')).toBe('000100009c40000000000000');
  });

  it('reads the 16-byte answer: opcode 129, result, epoch, internal, mapped external, lifetime', () => {
    expect(decodeMapUdpResponse(hex('00 81 0000 00000010 9c40 9c41 0000003c'))).toEqual({ resultCode: 0, epochSeconds: 16, internalPort: 40000, externalPort: 40001, lifetimeSeconds: 60 });
    expect(decodeMapUdpResponse(hex('00 81 0003 00000010'))).toMatchObject({ resultCode: 3, externalPort: 0 });
    expect(() => decodeMapUdpResponse(hex('00 80 0000 00000010 01020304'))).toThrow(/not a UDP mapping response/);
  });
});
