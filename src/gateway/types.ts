/** What the default gateway says about itself, per port-mapping protocol. */
export type PortMappingProtocol = 'nat-pmp' | 'pcp' | 'upnp';

export interface PortMappingProtocolReport {
  protocol: PortMappingProtocol;
  /** True when the gateway answered in this protocol (even with an error result). */
  present: boolean;
  /** NAT-PMP "0", PCP "2", UPnP "IGD:1" / "IGD:2". */
  version?: string;
  /** The external address the gateway states (NAT-PMP §3.2, UPnP GetExternalIPAddress); PCP ANNOUNCE states none. */
  externalAddress?: string;
  /** The protocol's result code and its RFC name, when it gave one. */
  result?: { code: number; name: string };
  /** NAT-PMP / PCP: seconds since the gateway's epoch (a reset means it lost its mappings). */
  epochSeconds?: number;
  /** Time from the first send to the first answer. */
  rttMs?: number;
  /** Requests sent (retransmissions included; UPnP: the M-SEARCHes). */
  sent: number;
  /** What went wrong, in one line, when the protocol is absent or answered with an error. */
  error?: string;
  /** UPnP: where the description was, what the device calls itself, and the service asked. */
  upnp?: { location: string; searchedBy: 'unicast' | 'multicast'; friendlyName?: string; server?: string; serviceType?: string };
}

export interface GatewayReport {
  /** The gateway asked (the default route's next hop). */
  gateway: string;
  natPmp: PortMappingProtocolReport;
  pcp: PortMappingProtocolReport;
  upnp: PortMappingProtocolReport;
  durationMs: number;
}
