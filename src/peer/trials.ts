/**
 * Trials: N fresh pairings of two peers, at most C at once. Each pairing is two peer sessions in
 * a room of its own, so every trial has new sockets, new ICE credentials and a new tie-breaker.
 * With no signaling URL the run starts its own signaling and STUN servers on loopback and closes
 * them afterwards, so `nat-probe trials` works on any machine with no set-up.
 *
 *   const result = await runTrials({ runs: 20, concurrency: 4, onEvent: console.log });
 *   result.summary.successRate;  // 1
 */
import { randomBytes } from 'node:crypto';
import type { PeerEvent, SourcedPeerEvent, TrialEvent } from './events.js';
import { systemClock, type Clock, type TimerHandle } from '../transport/clock.js';
import { TrialsOptionsError, TrialTimeoutError } from './trials-errors.js';
import { trialOutcome, type SettledSession } from './trials-outcome.js';
import { summarizeTrials, type TrialsSummary } from './trials-summary.js';
import type { PeerSessionOutcome, TrialOutcome } from './trials-types.js';
import type { PeerTurnServer } from './relay.js';
import type { TraversalOptions } from '../traversal/types.js';

/** What each of a trial's two sessions is started with (the options runPeerSession takes). */
export interface TrialSessionOptions {
  signalUrl: string;
  signalFallbackUrls?: readonly string[];
  room: string;
  token?: string;
  authToken?: string;
  stunServer?: { address: string; port: number };
  mode: 'connect' | 'survey';
  timeoutMs: number;
  clock?: Clock;
  onEvent?: (event: PeerEvent) => void;
  bindAddress?: string;
  /** Copied into the session's events. */
  trial?: number;
  /** ICE scheduler settings; trials set only Ta (RFC 8445 §14.2). */
  scheduler?: { taMs?: number };
  /** TURN servers for relayed candidates (see PeerSessionOptions). */
  turnServers?: readonly PeerTurnServer[];
  relayOnly?: boolean;
  turnTimeoutMs?: number;
  useSignaledIceServers?: boolean;
  /** Strategies beyond plain ICE (PeerSessionOptions.traversal). */
  traversal?: TraversalOptions;
}

export type PeerSessionRunner = (options: TrialSessionOptions) => Promise<PeerSessionOutcome>;

/** Servers started for one run (see `embeddedServers`). */
export interface EmbeddedServers {
  readonly signalUrl: string;
  readonly stunServer: { readonly address: string; readonly port: number };
  close(): Promise<void>;
}

export interface RunTrialsOptions {
  /** Pairings to run. Required, 1 or more. */
  runs: number;
  /** Pairings in flight at once. Default 4. */
  concurrency?: number;
  /** Signaling server URL. Without it, `embeddedServers` is called to start servers for this run. */
  signalUrl?: string;
  /** Further instances of the same signaling service (sharing one Redis), for failover. */
  signalFallbackUrls?: readonly string[];
  /**
   * Starts the servers a run without `signalUrl` uses (signaling + STUN on loopback) and stops
   * them at the end. Injected by the CLI, since peer/ may not import the server layer (DESIGN.md).
   */
  embeddedServers?: () => Promise<EmbeddedServers>;
  /** Room secret given to the signaling server. Default none. */
  token?: string;
  /** Operator token (`serve --auth-secret`); a prefix token covering `roomPrefix` serves a whole run. */
  authToken?: string;
  /**
   * STUN server for server-reflexive candidates. Default: the built-in one when `signalUrl` is
   * not given; none when it is (host candidates only, unless given).
   */
  stunServer?: { address: string; port: number };
  /** 'connect' stops at the first nominated pair; 'survey' checks every pair. Default 'connect'. */
  mode?: 'connect' | 'survey';
  /** Each session's overall time bound. Default 10 000 ms. */
  timeoutMs?: number;
  /** Local address the peers bind. Default: the session's default (every interface). */
  bindAddress?: string;
  /**
   * Ta, the pacing of each agent's checks (RFC 8445 §14.2: at least 5 ms). Default: the
   * session's default (5 ms, src/peer/session.ts).
   */
  taMs?: number;
  /**
   * TURN servers every session allocates a relayed candidate on (PeerSessionOptions.turnServers).
   * Default none: the signaling server's config may still hand some out (`serve --turn-url`).
   */
  turnServers?: readonly PeerTurnServer[];
  /** Only relayed candidates are paired (iceTransportPolicy "relay"). Default false. */
  relayOnly?: boolean;
  /** Bound on each allocation. Default the session's (5,000 ms). */
  turnTimeoutMs?: number;
  /** false: ignore TURN servers the signaling server hands out (PeerSessionOptions.useSignaledIceServers). Default true. */
  useSignaledIceServers?: boolean;
  /** Traversal strategies both sessions of every trial run (PeerSessionOptions.traversal). Default none: plain ICE. */
  traversal?: TraversalOptions;
  /** Room names are `${roomPrefix}-${trial}`. Default `trials-` and 8 random hex digits, so runs never share rooms. */
  roomPrefix?: string;
  /**
   * Trial events, and both peers' ice-* and peer-* events re-tagged with the trial number and
   * `peer` (0 or 1: which session of the trial). `at` is ms since the run started.
   */
  onEvent?: (event: TrialEvent | SourcedPeerEvent) => void;
  /** Forward both peers' ice-* / peer-* events to onEvent. Default true; benches turn it off. */
  peerEvents?: boolean;
  /** When aborted, no new trial starts; those in flight finish and are reported. */
  signal?: AbortSignal;
  /** Time source for `at`, durations and the per-trial safety bound. Default the system clock. */
  clock?: Clock;
  /** Runs one peer session. Default runPeerSession (src/peer/session.ts); tests inject fakes. */
  runSession?: PeerSessionRunner;
}

export interface TrialsResult {
  /** Settings as run, with defaults filled in; `signalUrl` is the built-in server's when it was started. */
  readonly config: {
    readonly runs: number;
    readonly concurrency: number;
    readonly mode: 'connect' | 'survey';
    readonly timeoutMs: number;
    readonly signalUrl: string;
    readonly stunServer?: { readonly address: string; readonly port: number };
    readonly builtInServers: boolean;
    /** The TURN server URLs given (never their credentials); empty when none. */
    readonly turnServers?: readonly string[];
    readonly relayOnly?: boolean;
    /** The strategies and their settings, when any were asked for (`--strategy`). */
    readonly traversal?: TraversalOptions;
  };
  readonly startedAt: Date;
  readonly durationMs: number;
  /** Finished trials in trial order (fewer than `runs` only when aborted). */
  readonly outcomes: readonly TrialOutcome[];
  readonly summary: TrialsSummary;
  /** True when the signal stopped the run before every trial started. */
  readonly aborted: boolean;
}

export const TRIALS_DEFAULTS = {
  concurrency: 4,
  mode: 'connect',
  timeoutMs: 10_000,
  peerEvents: true,
} as const;

/** Sessions end on their own timeout; this extra margin only catches one that does not. */
const SAFETY_MARGIN_MS = 5_000;

export async function runTrials(options: RunTrialsOptions): Promise<TrialsResult> {
  const runs = options.runs;
  const concurrency = options.concurrency ?? TRIALS_DEFAULTS.concurrency;
  if (!Number.isInteger(runs) || runs < 1) throw new TrialsOptionsError(`runs must be a whole number of 1 or more, got ${runs}.`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TrialsOptionsError(`concurrency must be a whole number of 1 or more, got ${concurrency}.`);
  const mode = options.mode ?? TRIALS_DEFAULTS.mode;
  const timeoutMs = options.timeoutMs ?? TRIALS_DEFAULTS.timeoutMs;
  const clock = options.clock ?? systemClock;
  const runSession = options.runSession ?? runPeerSessionLazily;
  const forwardPeerEvents = options.peerEvents ?? TRIALS_DEFAULTS.peerEvents;
  const roomPrefix = options.roomPrefix ?? `trials-${randomBytes(4).toString('hex')}`;
  const listener = options.onEvent;
  const emit = (event: TrialEvent | SourcedPeerEvent): void => {
    try {
      listener?.(event);
    } catch {
      // A broken listener must not stop the run, nor leave trials running after the servers close.
    }
  };

  if (options.signalUrl === undefined && options.embeddedServers === undefined) {
    throw new TrialsOptionsError('runTrials needs a signalUrl, or embeddedServers to start servers for the run.');
  }
  const builtIn = options.signalUrl === undefined ? await options.embeddedServers!() : undefined;
  const signalUrl = options.signalUrl ?? builtIn!.signalUrl;
  const stunServer = options.stunServer ?? builtIn?.stunServer;
  const startedAt = new Date();
  const t0 = clock.now();
  const since = (): number => clock.now() - t0;

  const outcomes: TrialOutcome[] = [];
  let nextTrial = 1;
  let succeeded = 0;

  async function runOne(trial: number): Promise<TrialOutcome> {
    const room = `${roomPrefix}-${trial}`;
    const trialStart = clock.now();
    emit({ type: 'trial-started', at: since(), trial });
    const sessionOptions = (index: 0 | 1): TrialSessionOptions => ({
      signalUrl,
      ...(options.signalFallbackUrls !== undefined && options.signalFallbackUrls.length > 0 ? { signalFallbackUrls: options.signalFallbackUrls } : {}),
      room,
      token: options.token,
      ...(options.authToken !== undefined ? { authToken: options.authToken } : {}),
      stunServer,
      mode,
      timeoutMs,
      clock: options.clock,
      bindAddress: options.bindAddress,
      trial,
      ...(options.taMs !== undefined ? { scheduler: { taMs: options.taMs } } : {}),
      ...(options.turnServers !== undefined ? { turnServers: options.turnServers } : {}),
      ...(options.relayOnly === true ? { relayOnly: true } : {}),
      ...(options.turnTimeoutMs !== undefined ? { turnTimeoutMs: options.turnTimeoutMs } : {}),
      ...(options.useSignaledIceServers === false ? { useSignaledIceServers: false } : {}),
      ...(options.traversal !== undefined ? { traversal: options.traversal } : {}),
      // Session events count from the session's start; rebase them onto the run's time line.
      onEvent: forwardPeerEvents ? (event: PeerEvent) => emit({ ...event, trial, peer: index, at: trialStart - t0 + event.at }) : undefined,
    });
    const boundMs = timeoutMs + SAFETY_MARGIN_MS;
    const start = (index: 0 | 1): Promise<SettledSession> => {
      // A runner that throws instead of rejecting still counts as that session's failure.
      const session = Promise.resolve().then(() => runSession(sessionOptions(index)));
      return bounded(session, clock, boundMs, () => new TrialTimeoutError(trial, boundMs));
    };
    const sessions = (await Promise.all([start(0), start(1)])) as [SettledSession, SettledSession];
    return trialOutcome({ trial, room, durationMs: clock.now() - trialStart, sessions });
  }

  async function worker(): Promise<void> {
    while (nextTrial <= runs && options.signal?.aborted !== true) {
      const trial = nextTrial++;
      const outcome = await runOne(trial);
      outcomes.push(outcome);
      if (outcome.connected) succeeded += 1;
      emit({
        type: 'trial-done',
        at: since(),
        trial,
        connected: outcome.connected,
        timeToConnectMs: outcome.timeToConnectMs,
        pairType: outcome.pairType,
        failureReason: outcome.failureReason,
        ...(outcome.traversal !== undefined ? { winner: outcome.traversal.winner } : {}),
        finished: outcomes.length,
        planned: runs,
        succeeded,
      });
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, () => worker()));
  } finally {
    await builtIn?.close();
  }
  outcomes.sort((a, b) => a.trial - b.trial);
  return {
    config: {
      runs,
      concurrency,
      mode,
      timeoutMs,
      signalUrl,
      ...(stunServer ? { stunServer } : {}),
      builtInServers: builtIn !== undefined,
      turnServers: (options.turnServers ?? []).map((server) => server.url),
      relayOnly: options.relayOnly ?? false,
      ...(options.traversal !== undefined ? { traversal: options.traversal } : {}),
    },
    startedAt,
    durationMs: since(),
    outcomes,
    summary: summarizeTrials(outcomes),
    aborted: outcomes.length < runs,
  };
}

/**
 * The real session, loaded on first use: the ICE agent and its sockets are not needed to run
 * trials against injected sessions, and loading them lazily keeps `--help` fast.
 */
const runPeerSessionLazily: PeerSessionRunner = async (options) => (await import('./session.js')).runPeerSession(options);

/** Settles with the session's result or error, or with `onTimeout()` after boundMs; never rejects. */
function bounded(session: Promise<PeerSessionOutcome>, clock: Clock, boundMs: number, onTimeout: () => Error): Promise<SettledSession> {
  return new Promise<SettledSession>((resolve) => {
    let timer: TimerHandle | undefined = clock.setTimeout(() => {
      timer = undefined;
      resolve({ ok: false, error: onTimeout() });
    }, boundMs);
    const settle = (settled: SettledSession): void => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      resolve(settled);
    };
    session.then(
      (result) => settle({ ok: true, result }),
      (error: unknown) => settle({ ok: false, error }),
    );
  });
}
