import { isIP } from 'node:net';
import { connect, rootCertificates } from 'node:tls';
import { TurnTlsError } from './errors.js';
import { netConnectOptions, tcpConnectFailure, type StreamConnector } from './stream-connection.js';

/**
 * TURN over TLS (RFC 8656 §3.1, `turns:` URLs of RFC 7065): the TCP connection's framing and
 * requests over a tls.connect stream. Only the connector differs from TCP; a certificate the
 * client cannot verify fails with `turn-tls-failed`, naming the verifier's reason.
 */
export interface TurnTlsOptions {
  /**
   * SNI (RFC 6066 §3) and the name the certificate must carry. Default: the URL's host when it is
   * a name; for an IP address no SNI is sent and the certificate must carry that IP.
   */
  servername?: string;
  /**
   * PEM certificate(s) to trust besides the system's roots, e.g. a self-signed server's own
   * certificate or a private CA (`--turn-ca FILE`).
   */
  ca?: string | readonly string[];
  /** Verify the server's certificate chain and name. Default true; false only for throwaway test servers. */
  rejectUnauthorized?: boolean;
}

/** RFC 7443 §6: the ALPN protocol ID for TURN (and STUN) over (D)TLS. */
export const TURN_ALPN = 'stun.turn';

/** The SNI to send: the given servername, else the host when it is a name (never an IP, RFC 6066 §3). */
export function defaultServername(host: string, options: TurnTlsOptions | undefined): string | undefined {
  if (options?.servername !== undefined) return options.servername;
  return isIP(host) === 0 ? host.replace(/\.$/, '') : undefined;
}

/** A connector for TLS over TCP with these options; `host` is the URL's host, for the default SNI. */
export function tlsConnector(host: string, options: TurnTlsOptions = {}): StreamConnector {
  const servername = defaultServername(host, options);
  const extra = options.ca === undefined ? [] : typeof options.ca === 'string' ? [options.ca] : [...options.ca];
  // `ca` replaces Node's trust store, so the system's roots stay in beside the extra ones.
  const ca = extra.length === 0 ? undefined : [...rootCertificates, ...extra];
  return {
    transport: 'tls',
    name: 'TLS',
    connect: (target) => ({
      socket: connect({
        ...netConnectOptions(target),
        ...(servername !== undefined ? { servername } : {}),
        ...(ca !== undefined ? { ca } : {}),
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        ALPNProtocols: [TURN_ALPN],
      }),
      ready: 'secureConnect',
    }),
    failure: (server, error, timeoutMs, tcpConnected) => {
      // Before the TCP handshake it is the same failure as for TCP: the server is unreachable.
      if (!tcpConnected) return tcpConnectFailure(server, error, timeoutMs);
      if (error === undefined) {
        return new TurnTlsError(server, `no TLS handshake within ${timeoutMs} ms of the TCP connection`, 'Check that this port speaks TLS (turns: defaults to 5349), or raise the timeout', undefined);
      }
      const { reason, advice } = describeTlsFailure(error, servername);
      return new TurnTlsError(server, reason, advice, error.code, error);
    },
  };
}

/** Certificate verification codes (OpenSSL's X509_V_ERR_* names, as Node reports them) that a trusted CA would fix. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** One line on why the handshake failed (the verifier's own words) and what to do about it. */
export function describeTlsFailure(error: NodeJS.ErrnoException, servername: string | undefined): { reason: string; advice: string } {
  const code = error.code;
  const words = error.message.replace(/\s+/g, ' ').trim();
  const reason = code !== undefined && !words.includes(code) ? `${words} (${code})` : words;
  if (code !== undefined && UNTRUSTED.has(code)) {
    return { reason, advice: "The certificate's issuer is not trusted here: pass the server's CA certificate (PEM) with --turn-ca FILE" };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return { reason, advice: "The certificate is outside its validity period: the server's operator must renew it (or this host's clock is wrong)" };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const name = servername === undefined ? 'the IP address in the URL' : `"${servername}"`;
    return { reason, advice: `The certificate is not for ${name}: put the host name the certificate names in the turns: URL` };
  }
  return { reason, advice: 'Check that this port speaks TLS (turns: defaults to 5349) and that the server accepts TLS 1.2 or later' };
}
