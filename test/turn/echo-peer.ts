/** A UDP echo peer on loopback: what a TURN round trip is measured against. */
import { UdpEndpoint } from '../../src/transport/index.js';

export interface EchoPeer {
  endpoint: UdpEndpoint;
  /** Datagrams echoed so far. */
  readonly echoed: number;
  close(): Promise<void>;
}

export async function startEchoPeer(address = '127.0.0.1'): Promise<EchoPeer> {
  const endpoint = await UdpEndpoint.bind({ address });
  let echoed = 0;
  endpoint.onDatagram(({ data, from }) => {
    echoed++;
    endpoint.sendDetached(data, from);
  });
  return {
    endpoint,
    get echoed() {
      return echoed;
    },
    close: () => endpoint.close(),
  };
}
