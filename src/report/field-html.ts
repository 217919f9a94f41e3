/**
 * One field visit as ONE self-contained HTML file, like the lab matrix's: inline CSS, no script,
 * and a CSP of `default-src 'none'`, so opening it fetches nothing. Every value is escaped here
 * (the browser's strings were also sanitized by the field layer): a hostile user agent or
 * candidate line shows as text, never as markup.
 */
import type { FieldVisitReport } from './field-report.js';
import { escapeHtml } from './lab-matrix-html.js';
import { formatMs } from './format.js';

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;max-width:70rem}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}.meta{color:#57606a}
.sentence{font-size:18px;font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}
.direct{background:#dafbe1}.relay,.needs-relay{background:#fff8c5}.blocked,.no-webrtc,.unfinished{background:#ffebe9}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f6f8fa}.succeeded{color:#1a7f37}.failed{color:#cf222e}code{font-size:12px;word-break:break-all}`;

const e = (value: unknown): string => escapeHtml(value === null || value === undefined ? '' : String(value));

export function renderFieldVisitHtml(report: FieldVisitReport): string {
  const b = report.browser;
  const g = b.gather;
  const i = b.ice;
  const p = report.natProbe;
  const rows = (cells: readonly unknown[][]): string => cells.map((row) => `<tr>${row.map((cell) => `<td>${e(cell)}</td>`).join('')}</tr>`).join('');
  const natPairs = (p?.pairs ?? [])
    .map((pair) => `<tr data-pair="${e(pair.id)}"><td>${e(`${pair.localType}/${pair.remoteType}`)}</td><td>${e(pair.local)}</td><td>${e(pair.remote)}</td><td class="${e(pair.state)}">${e(pair.state)}</td><td>${pair.rttMs !== undefined ? e(formatMs(pair.rttMs)) : ''}</td><td>${e(pair.failureReason ?? '')}</td></tr>`)
    .join('');
  const browserPairs = (i?.pairs ?? []).map((pair) => [pair.pairType, pair.pair, pair.state, pair.nominated ? 'yes' : '', pair.rttMs !== null ? formatMs(pair.rttMs) : '']);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nat-probe field visit ${e(report.visit)}</title><style>${STYLE}</style></head>
<body>
<h1>Field visit ${e(report.visit)}</h1>
<p class="meta">${e(report.startedAt)} · ${e(formatMs(report.durationMs))} · ended: ${e(report.reason)}${report.detail !== null ? ` (${e(report.detail)})` : ''} · nat-probe ${e(report.tool.version)}</p>
<p class="sentence ${e(report.result.code)}" data-result="${e(report.result.code)}">${e(report.result.sentence)}</p>
<h2>Browser</h2>
<table data-browser="1">
<tr><th>browser</th><td>${e(b.name)} on ${e(b.os)} (ICE ${e(b.iceRole)})</td></tr>
<tr><th>user agent</th><td data-user-agent="1"><code>${e(b.userAgent)}</code></td></tr>
<tr><th>gathered</th><td>${g !== null ? `${g.hostCandidates} host, ${g.srflxCandidates} server-reflexive, ${g.relayCandidates} relayed${g.relayTransports.length > 0 ? ` (relay over ${e(g.relayTransports.join(', '))})` : ''}` : 'not reported'}</td></tr>
<tr><th>mapping</th><td data-mapping="${e(g?.mapping ?? 'unknown')}">${g !== null ? `${e(g.mapping)}: ${e(g.mappingDetail)}` : 'not reported'}</td></tr>
<tr><th>mDNS</th><td>${g === null ? 'not reported' : g.mdnsHidden ? 'host addresses are hidden behind .local names (no media permission): nat-probe cannot pair them directly' : g.hostHidden ? 'host addresses withheld by the browser (no media permission); its sockets appear as server-reflexive candidates' : 'host addresses visible'}</td></tr>
<tr><th>ICE</th><td data-browser-ice="${e(i?.finalState ?? '')}">${i !== null ? `${i.connected ? 'connected' : 'not connected'} (${e(i.finalState)})${i.selectedPairType !== null ? ` via ${e(i.selectedPairType)} ${e(i.selectedPair)}` : ''}${i.connectedMs !== null ? `, ${e(formatMs(i.connectedMs))} after the page loaded` : ''}` : 'not reported'}</td></tr>
</table>
<p class="meta">Only ICE is tested: nat-probe does not speak DTLS, so the browser's DTLS handshake after ICE never completes; that is expected and not a network problem.</p>
<h2>Browser candidates</h2>
<table><tr><th>type</th><th>candidate</th><th>server</th></tr>${rows(b.candidates.map((c) => [c.type, c.candidate, c.url]))}</table>
${b.serverErrors.length > 0 ? `<h2>Server errors seen by the browser</h2><table><tr><th>server</th><th>code</th><th>text</th></tr>${rows(b.serverErrors.map((x) => [x.url, x.errorCode, x.errorText]))}</table>` : ''}
<h2>Browser's candidate pairs (getStats)</h2>
<table><tr><th>types</th><th>pair</th><th>state</th><th>nominated</th><th>RTT</th></tr>${rows(browserPairs)}</table>
<h2>nat-probe survey (ICE ${e(report.natProbeRole)})</h2>
${p !== null ? `<table data-survey="1"><tr><th>types</th><th>local</th><th>remote</th><th>state</th><th>RTT</th><th>why failed</th></tr>${natPairs}</table>` : `<p>${e(report.natProbeError?.code ?? 'no session')}: ${e(report.natProbeError?.message ?? '')}</p>`}
${report.skippedRemoteCandidates.length > 0 ? `<h2>Browser candidates nat-probe could not use</h2><table><tr><th>reason</th><th>candidate</th></tr>${rows(report.skippedRemoteCandidates.map((s) => [s.reason, s.candidate]))}</table>` : ''}
</body></html>
`;
}
