import { NatProbeError } from '../errors.js';

/** A gateway's answer that does not parse as the protocol says. */
export class GatewayDecodeError extends NatProbeError {
  constructor(
    readonly protocol: 'nat-pmp' | 'pcp' | 'ssdp' | 'upnp',
    detail: string,
  ) {
    super(`gateway-decode-${protocol}`, `Not a valid ${protocol.toUpperCase()} message: ${detail}.`);
  }
}
