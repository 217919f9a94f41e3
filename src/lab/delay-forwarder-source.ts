/**
 * The lab's delay link: a small Python 3 program (stdlib only) that holds two TAP devices and
 * copies Ethernet frames between them after holding each for `delay ± jitter` ms. This kernel
 * has no netem and nftables has no queue statement (LAB-NOTES.md), and Node cannot call
 * ioctl(TUNSETIFF), so the forwarder is Python (Debian's python3, added to .ci/run).
 *
 * Why TAP (layer 2) rather than TUN: the delayed link replaces a veth pair one-for-one, with the
 * same names and addresses, so a client behind a router and a client on the public bridge
 * (`none`, `firewall`: its upper end is a bridge port) are handled the same way, ARP included.
 *
 * It is embedded as a string so it ships inside dist/ with the rest of the package and runs as
 * `python3 -c SOURCE …`. Protocol on stdout: one line `ready <upper> <lower>` once both devices
 * exist (the caller then moves `<lower>` into the client namespace and addresses both ends),
 * then nothing; on exit a line `stats …` with counters.
 *
 * Bounds: each direction queues at most `--max-queue` frames (default 4096; a frame beyond it is
 * dropped, as a full router queue would); release times are kept in order per direction, so
 * jitter never reorders frames (a FIFO link). The process ends on SIGTERM/SIGINT, or when a
 * device goes away (read/write error: the namespace was deleted), and the devices are not
 * persistent, so they vanish with the process. `destroyLab`/`lab down` kill it with everything
 * else inside the lab's namespaces.
 */
export const DELAY_FORWARDER_SOURCE = String.raw`
import errno, fcntl, os, random, select, signal, struct, sys, time
from collections import deque

TUNSETIFF = 0x400454ca
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    if default is None:
        sys.stderr.write('delay-forwarder: missing ' + name + '\n')
        sys.exit(2)
    return default

upper_name = arg('--upper')
lower_name = arg('--lower')
delay = float(arg('--delay-ms')) / 1000.0
jitter = float(arg('--jitter-ms', '0')) / 1000.0
max_queue = int(arg('--max-queue', '4096'))
seed = arg('--seed', '')
rng = random.Random(seed if seed != '' else None)

def open_tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd

upper = open_tap(upper_name)
lower = open_tap(lower_name)
stats = {'up': 0, 'down': 0, 'dropped': 0, 'late_max_us': 0}
class Stop(Exception):
    pass

def stop(signum, frame):
    # Raising (not a flag) interrupts a select() that PEP 475 would otherwise resume.
    raise Stop()

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
sys.stdout.write('ready %s %s\n' % (upper_name, lower_name))
sys.stdout.flush()

# Each direction: a FIFO of (due, frame) and the fd it is written to.
queues = {lower: (deque(), upper, 'up'), upper: (deque(), lower, 'down')}
last_due = {lower: 0.0, upper: 0.0}

def hold():
    if jitter <= 0:
        return delay
    return max(0.0, delay + rng.uniform(-jitter, jitter))

def forward():
  while True:
      now = time.monotonic()
      timeout = None
      for q, _, _ in queues.values():
          if q:
              wait = q[0][0] - now
              timeout = wait if timeout is None or wait < timeout else timeout
      if timeout is not None and timeout < 0:
          timeout = 0
      try:
          readable, _, _ = select.select([lower, upper], [], [], timeout)
      except InterruptedError:
          continue
      now = time.monotonic()
      try:
          for fd in readable:
              q = queues[fd][0]
              for _ in range(64):
                  try:
                      frame = os.read(fd, 65536)
                  except BlockingIOError:
                      break
                  if len(q) >= max_queue:
                      stats['dropped'] += 1
                      continue
                  due = max(now + hold(), last_due[fd])
                  last_due[fd] = due
                  q.append((due, frame))
          now = time.monotonic()
          for q, out, name in queues.values():
              while q and q[0][0] <= now:
                  due, frame = q.popleft()
                  late = int((now - due) * 1e6)
                  if late > stats['late_max_us']:
                      stats['late_max_us'] = late
                  try:
                      os.write(out, frame)
                      stats[name] += 1
                  except OSError as error:
                      # A device that is not up yet (EIO) or full (EAGAIN) drops the frame, as a
                      # link would; only a device that is gone (EBADFD) ends the forwarder.
                      if error.errno == errno.EBADFD:
                          raise
                      stats['dropped'] += 1
      except OSError as error:
          # EBADFD/EIO/ENODEV: a device went away with its namespace; nothing left to forward.
          sys.stderr.write('delay-forwarder: %s\n' % error)
          return

try:
    forward()
except Stop:
    pass
sys.stdout.write('stats up=%d down=%d dropped=%d late_max_us=%d\n' % (stats['up'], stats['down'], stats['dropped'], stats['late_max_us']))
sys.stdout.flush()
`;
