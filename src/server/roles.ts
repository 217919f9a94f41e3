/**
 * The four sockets of an RFC 5780 server (§6.1): A1/A2 are the primary and alternate IP
 * addresses, P1/P2 the primary and alternate ports. A server without an alternate address
 * has only the primary socket.
 */
export type SocketRole = 'primary' | 'alternateIp' | 'alternatePort' | 'alternateIpAndPort';

export const SOCKET_ROLES: readonly SocketRole[] = ['primary', 'alternateIp', 'alternatePort', 'alternateIpAndPort'];

interface RoleBits {
  alternateIp: boolean;
  alternatePort: boolean;
}

function bitsOf(role: SocketRole): RoleBits {
  return { alternateIp: role === 'alternateIp' || role === 'alternateIpAndPort', alternatePort: role === 'alternatePort' || role === 'alternateIpAndPort' };
}

function roleOf(bits: RoleBits): SocketRole {
  if (bits.alternateIp) return bits.alternatePort ? 'alternateIpAndPort' : 'alternateIp';
  return bits.alternatePort ? 'alternatePort' : 'primary';
}

/**
 * RFC 5780 §6.1 Table 1: the socket a response leaves from, given the socket the request
 * arrived on (Da:Dp) and the CHANGE-REQUEST flags. "Change IP" swaps Da for Ca, "change port"
 * swaps Dp for Cp.
 */
export function responseSocket(receivedOn: SocketRole, change: { changeIp: boolean; changePort: boolean }): SocketRole {
  const bits = bitsOf(receivedOn);
  return roleOf({ alternateIp: bits.alternateIp !== change.changeIp, alternatePort: bits.alternatePort !== change.changePort });
}

/** RFC 5780 §6.1: OTHER-ADDRESS is Ca:Cp relative to where the request arrived, whatever the flags. */
export function otherSocket(receivedOn: SocketRole): SocketRole {
  return responseSocket(receivedOn, { changeIp: true, changePort: true });
}

export const ROLE_LABELS: Record<SocketRole, string> = {
  primary: 'primary (A1:P1)',
  alternateIp: 'alternate IP (A2:P1)',
  alternatePort: 'alternate port (A1:P2)',
  alternateIpAndPort: 'alternate IP and port (A2:P2)',
};
