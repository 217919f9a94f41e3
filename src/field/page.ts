/**
 * The customer's page: one small HTML document, its stylesheet and its script (page-script.ts),
 * all served by the field server from this package. No CDN, no inline script, no inline style,
 * so the CSP below can forbid everything else.
 */
import { createHash } from 'node:crypto';
import { FIELD_PAGE_SCRIPT, FIELD_PAGE_STYLE } from './page-script.js';

/** What the page needs to run one visit; JSON in the `data-config` attribute (HTML-escaped). */
export interface FieldPageConfig {
  readonly room: string;
  readonly roomToken: string;
  /** WebSocket path of the signaling server on this origin. */
  readonly signalPath: string;
  readonly goPath: string;
  readonly findingsPath: string;
  /** 'answerer': nat-probe joins first and is ICE-controlling; 'offerer': the browser is. */
  readonly browserRole: 'offerer' | 'answerer';
  readonly iceServers: readonly { urls: string[]; username?: string; credential?: string }[];
  readonly fingerprint: string;
  readonly gatherTimeoutMs: number;
  readonly iceTimeoutMs: number;
}

/**
 * Strict: scripts and styles only from this origin, network only to this origin (the WebSocket
 * included: CSP Level 3 lets 'self' match ws:/wss: on the same host and port), no frames, no
 * forms, no plugins, no base tag tricks, no embedding elsewhere.
 */
export const FIELD_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every field response carries. */
export const FIELD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': FIELD_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * A syntactically valid sha-256 fingerprint (RFC 8122 §5) that matches no certificate: the browser
 * requires one in the remote description, and nat-probe never does DTLS (see page-script.ts).
 */
export const PLACEHOLDER_FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 + 11).toString(16).padStart(2, '0').toUpperCase()).join(':');

export function escapeHtmlAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderFieldPage(config: FieldPageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Network check</title>
<link rel="stylesheet" href="/field.css">
<script src="/field.js" defer></script>
</head>
<body>
<main id="probe" data-config="${escapeHtmlAttribute(JSON.stringify(config))}">
<h1>Network check</h1>
<p>This page tests how your browser connects to your support engineer's computer, to find out why calls or video may not connect. It takes a few seconds. It sends your browser's network addresses, its name and version, and the test results to this server only, nothing else and nowhere else.</p>
<p id="status">Starting…</p>
<p id="result" aria-live="polite"></p>
<noscript><p>This check needs JavaScript.</p></noscript>
<p><small>nat-probe field check</small></p>
</main>
</body>
</html>
`;
}

/** Static assets with their ETag-like digest (the bench counts their bytes). */
export const FIELD_ASSETS: Readonly<Record<string, { type: string; body: string; sha256: string }>> = {
  '/field.js': { type: 'text/javascript; charset=utf-8', body: FIELD_PAGE_SCRIPT, sha256: digest(FIELD_PAGE_SCRIPT) },
  '/field.css': { type: 'text/css; charset=utf-8', body: FIELD_PAGE_STYLE, sha256: digest(FIELD_PAGE_STYLE) },
};

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}
