/** Long-term credentials (RFC 8489 §9.2). The password never leaves this client: not in events, errors or reports. */
export interface TurnCredentials {
  username: string;
  password: string;
}
