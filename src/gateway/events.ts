import type { PortMappingProtocolReport } from './types.js';

/** One port-mapping protocol has its answer (or its silence): the live view ticks it off. */
export interface PortMappingResultEvent {
  type: 'portmap-result';
  at: number;
  gateway: string;
  report: PortMappingProtocolReport;
}

export type GatewayEvent = PortMappingResultEvent;
