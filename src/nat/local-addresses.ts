import { networkInterfaces } from 'node:os';

/** Every address configured on this host's interfaces, for the "no NAT" test. */
export function localInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .map((entry) => entry.address);
}

/** True when the host has an IPv6 address usable beyond the link (not loopback, not link-local). */
export function hasRoutableIpv6(): boolean {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .some((entry) => entry.family === 'IPv6' && !entry.internal && !entry.address.toLowerCase().startsWith('fe80'));
}
