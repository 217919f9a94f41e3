/**
 * UPnP IGD after discovery: the device description (UDA 1.1 §2.3) and the SOAP action
 * GetExternalIPAddress of WANIPConnection (IGD 1.0 / 2.0, WANIPConnection:1 §2.4.18) or
 * WANPPPConnection. Parsing is pure; `fetchText` is the one I/O helper (HTTP, never UDP).
 */
import { GatewayDecodeError } from './errors.js';

/** Services that can state the external address, best first. */
export const WAN_CONNECTION_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
] as const;

export interface IgdDescription {
  /** 'IGD:1' or 'IGD:2', from the root device type. */
  version: string;
  deviceType: string;
  friendlyName?: string;
  manufacturer?: string;
  modelName?: string;
  /** The WAN connection service to ask, with its control URL made absolute. */
  service?: { serviceType: string; controlUrl: string };
}

const tag = (xml: string, name: string): string | undefined => {
  const match = new RegExp(`<(?:\\w+:)?${name}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${name}>`, 'i').exec(xml);
  return match ? decodeXmlText(match[1]!.trim()) : undefined;
};

function decodeXmlText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/**
 * Reads a device description. Only the few elements nat-probe needs are extracted, by
 * element name, so the nesting of embedded devices (IGD → WANDevice → WANConnectionDevice)
 * does not matter; URLBase (UDA 1.0) or the description's own URL makes controlURL absolute.
 */
export function parseIgdDescription(xml: string, descriptionUrl: string): IgdDescription {
  const deviceType = tag(xml, 'deviceType');
  if (!deviceType) throw new GatewayDecodeError('upnp', 'the device description has no <deviceType>');
  const versionMatch = /InternetGatewayDevice:(\d+)/.exec(deviceType);
  const base = tag(xml, 'URLBase') || descriptionUrl;
  const services = [...xml.matchAll(/<(?:\w+:)?service\b[^>]*>([\s\S]*?)<\/(?:\w+:)?service>/gi)].map((m) => ({
    serviceType: tag(m[1]!, 'serviceType') ?? '',
    controlUrl: tag(m[1]!, 'controlURL') ?? '',
  }));
  let service: IgdDescription['service'];
  for (const wanted of WAN_CONNECTION_SERVICES) {
    const found = services.find((s) => s.serviceType === wanted && s.controlUrl !== '');
    if (found) {
      service = { serviceType: found.serviceType, controlUrl: new URL(found.controlUrl, base).toString() };
      break;
    }
  }
  return {
    version: versionMatch ? `IGD:${versionMatch[1]}` : deviceType,
    deviceType,
    friendlyName: tag(xml, 'friendlyName'),
    manufacturer: tag(xml, 'manufacturer'),
    modelName: tag(xml, 'modelName'),
    service,
  };
}

/** The SOAP envelope for an action (UDA 1.1 §3.2.1), its arguments in the order the service declares them. */
export function encodeSoapAction(serviceType: string, action: string, args: ReadonlyArray<readonly [string, string | number]> = []): { body: string; soapAction: string } {
  const inner = args.map(([name, value]) => `<${name}>${encodeXmlText(String(value))}</${name}>`).join('');
  const body =
    '<?xml version="1.0"?>\r\n' +
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${serviceType}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
  return { body, soapAction: `"${serviceType}#${action}"` };
}

function encodeXmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A UPnP error in a SOAP fault (UDA 1.1 §3.2.2), or undefined when the answer carries none. */
export function parseUpnpError(xml: string): { errorCode: number; errorDescription: string } | undefined {
  const code = tag(xml, 'errorCode');
  return code === undefined ? undefined : { errorCode: Number(code), errorDescription: tag(xml, 'errorDescription') ?? '' };
}

/** GetExternalIPAddress's answer, or the UPnP error a device gives instead (UDA 1.1 §3.2.2). */
export function parseExternalIpResponse(xml: string): { externalAddress: string } | { errorCode: number; errorDescription: string } {
  const address = tag(xml, 'NewExternalIPAddress');
  if (address !== undefined) return { externalAddress: address };
  const code = tag(xml, 'errorCode');
  if (code !== undefined) return { errorCode: Number(code), errorDescription: tag(xml, 'errorDescription') ?? '' };
  throw new GatewayDecodeError('upnp', 'the GetExternalIPAddress answer has neither NewExternalIPAddress nor a UPnP error');
}
