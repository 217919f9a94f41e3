/**
 * A UDP sink for bench/turn.bench.ts, in its own process so that counting packets does not
 * take CPU from the client being measured. It counts the datagrams it receives and the time
 * between the first and the last; with `echo` it also sends each one back (turnutils_uclient
 * expects its packets echoed). Bench code: node:dgram directly, like minimal-stun-responder.ts.
 *
 *   fork('bench/udp-sink-process.ts', ['{"echo":false}'])  → IPC {type:'ready', port}
 *   parent → {type:'reset'} / {type:'report'} → child → {type:'report', count, firstAt, lastAt}
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

const BOUND_MS = 300_000;
const { echo } = JSON.parse(process.argv[2] ?? '{}') as { echo?: boolean };
const socket = createSocket({ type: 'udp4', lookup: (hostname, _options, callback) => callback(null, hostname, isIP(hostname)) });
let count = 0;
let firstAt = 0;
let lastAt = 0;
socket.on('error', () => undefined);
socket.on('message', (data, from) => {
  const now = performance.now();
  if (count === 0) firstAt = now;
  lastAt = now;
  count++;
  if (echo === true) socket.send(data, from.port, from.address);
});
socket.bind({ address: '127.0.0.1', port: 0 }, () => {
  // Big buffers: a burst through the relay must not be dropped by the sink's own socket.
  try {
    socket.setRecvBufferSize(8 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max; the default still works, with more drops
  }
  process.send?.({ type: 'ready', port: socket.address().port });
});
process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    count = 0;
    process.send?.({ type: 'reset' });
  } else if (message.type === 'report') process.send?.({ type: 'report', count, firstAt, lastAt });
});
process.on('disconnect', () => process.exit(0));
// Never outlive a stuck bench.
setTimeout(() => process.exit(0), BOUND_MS).unref();
