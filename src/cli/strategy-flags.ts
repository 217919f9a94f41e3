/**
 * The traversal-strategy flags `peer` and `trials` share (--strategy and the figures that tune
 * prediction and birthday probing), and the TraversalOptions they build for each session
 * (src/traversal/types.ts). Defaults come from TRAVERSAL_DEFAULTS, so the help, the CLI and the
 * engine cannot disagree. Bad values are usage errors (exit 2) that name the flag and its range.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { NatProbeError } from '../errors.js';
import { parseStrategyList, StrategyNameError, TRAVERSAL_DEFAULTS, type ExtraStrategy, type TraversalOptions } from '../traversal/types.js';
import { integerOption } from './options.js';

export interface StrategyFlags {
  /** --strategy, parsed (ice adds nothing; all expands). Undefined: plain ICE. */
  strategy?: ExtraStrategy[];
  predictWindow?: number;
  predictRepeats?: number;
  birthdaySockets?: number;
  birthdayBudget?: number;
  probeRate?: number;
  allowRandomPair?: boolean;
}

/** A CLI bound only: sweeping the window more often than this finds nothing the first sweeps missed. */
export const MAX_PREDICT_REPEATS = 10;

const d = TRAVERSAL_DEFAULTS;

/**
 * Commander parser for --strategy: a comma-separated list; given more than once, the lists add
 * up. An unknown name is a usage error with the engine's own message.
 */
export function strategyListOption(value: string, previous: ExtraStrategy[] = []): ExtraStrategy[] {
  let parsed: ExtraStrategy[];
  try {
    parsed = parseStrategyList(value);
  } catch (error) {
    if (error instanceof StrategyNameError) throw new InvalidArgumentError(`--strategy: ${error.message}`);
    throw error;
  }
  const all = new Set([...previous, ...parsed]);
  // The engine's order (predict, birthday, relay-ladder, portmap), whatever order the flags came in.
  return parseStrategyList([...all].join(','));
}

/** The paragraph of `--help` on strategies: what each does, and why birthday probing is opt-in. */
export const STRATEGY_HELP = `Strategies (--strategy, default ice):
  ice           plain ICE (RFC 8445); always runs.
  predict       for a NAT that allocates ports in sequence: probe the next
                --predict-window ports after its last mapping, --predict-repeats times.
  birthday      for a NAT whose mapping depends on the destination: the hard side opens
                --birthday-sockets sockets, the easy side probes random ports, at most
                --birthday-budget datagrams at --probe-rate per second.
  relay-ladder  TURN over UDP, then TCP, then TLS: the lowest rung that works (needs a
                TURN server: --turn, or one the signaling server hands out).
  portmap       ask the default gateway (NAT-PMP, RFC 6886; else PCP MAP, RFC 6887; else
                UPnP AddPortMapping) to map the ICE socket's UDP port for the session
                (120 s, renewed at half-life, deleted at the end), and advertise
                the mapped address as a server-reflexive candidate: a hard
                NAT becomes an open one. Used when the gateway is the outer NAT (it states
                the address STUN sees; behind double NAT a mapping on the inner NAT does
                not help). Never asked when the STUN server is on loopback.
  all           every one of them. They run only where the plan says they apply; the
                report says which path won.
  The plan comes from both peers' NAT behaviour, which each measures against its STUN
  server while it gathers: without one (peer: --stun) the plan is plain ICE.
  Birthday probing is opt-in for a reason: it sends hundreds of datagrams to random ports
  of the other peer's public address, which intrusion detection sees as a port scan, and
  it opens up to --birthday-sockets (k) sockets at once, which puts pressure on the
  session table of small NATs (home routers, CGN quotas). Use it only between networks
  you are allowed to probe. Random <-> random (both mappings depend on the destination)
  is refused with its probability unless --allow-random-pair.`;

/** Adds the strategy flags to `peer` or `trials`. No commander defaults: a tuning flag given without its strategy is a usage error. */
export function addStrategyFlags(command: Command): Command {
  return command
    .option('--strategy <list>', 'traversal strategies beside ICE, comma-separated: ice, predict, birthday, relay-ladder, portmap, all (default: ice); see "Strategies" below', strategyListOption)
    .option('--predict-window <n>', `predict: ports probed after the last mapped one (default ${d.predictWindow}, at most ${d.maxPredictWindow})`, integerOption('--predict-window', 1, d.maxPredictWindow))
    .option('--predict-repeats <n>', `predict: sweeps of the window (default ${d.predictRepeats}, at most ${MAX_PREDICT_REPEATS})`, integerOption('--predict-repeats', 1, MAX_PREDICT_REPEATS))
    .option(
      '--birthday-sockets <k>',
      `birthday: sockets the hard side opens, each a NAT session (default ${d.birthdaySockets}, at most ${d.maxBirthdaySockets})`,
      integerOption('--birthday-sockets', 1, d.maxBirthdaySockets),
    )
    .option(
      '--birthday-budget <n>',
      `birthday: most datagrams the easy side sends to random ports of the other peer's public address (default ${d.birthdayBudget}, at most ${d.maxBirthdayBudget})`,
      integerOption('--birthday-budget', 1, d.maxBirthdayBudget),
    )
    .option('--probe-rate <pps>', `predict and birthday: probes per second (default ${d.birthdayRatePerSecond}, at most ${d.maxProbeRatePerSecond})`, integerOption('--probe-rate', 1, d.maxProbeRatePerSecond))
    .option('--allow-random-pair', 'birthday: attempt random <-> random anyway (refused by default: the report gives its low probability)');
}

/**
 * The session's TraversalOptions, every figure filled in from TRAVERSAL_DEFAULTS so reports show
 * what ran; undefined for plain ICE. A tuning flag for a strategy that was not asked for is a
 * usage error (exit 2), since it would silently do nothing.
 */
export function traversalFromFlags(flags: StrategyFlags): TraversalOptions | undefined {
  const strategies = flags.strategy ?? [];
  const predict = strategies.includes('predict');
  const birthday = strategies.includes('birthday');
  const stray = [
    !predict && flags.predictWindow !== undefined && '--predict-window needs --strategy predict (or all)',
    !predict && flags.predictRepeats !== undefined && '--predict-repeats needs --strategy predict (or all)',
    !birthday && flags.birthdaySockets !== undefined && '--birthday-sockets needs --strategy birthday (or all)',
    !birthday && flags.birthdayBudget !== undefined && '--birthday-budget needs --strategy birthday (or all)',
    !birthday && flags.allowRandomPair === true && '--allow-random-pair needs --strategy birthday (or all)',
    !predict && !birthday && flags.probeRate !== undefined && '--probe-rate needs --strategy predict or birthday (or all)',
  ].filter((line): line is string => line !== false);
  if (stray.length > 0) throw new StrategyFlagsError(`${stray.join('; ')}.`);
  if (strategies.length === 0) return undefined;
  return {
    strategies,
    ...(predict
      ? { predict: { window: flags.predictWindow ?? d.predictWindow, repeats: flags.predictRepeats ?? d.predictRepeats, ratePerSecond: flags.probeRate ?? d.predictRatePerSecond } }
      : {}),
    ...(birthday
      ? {
          birthday: {
            sockets: flags.birthdaySockets ?? d.birthdaySockets,
            budget: flags.birthdayBudget ?? d.birthdayBudget,
            ratePerSecond: flags.probeRate ?? d.birthdayRatePerSecond,
            allowRandomPair: flags.allowRandomPair ?? false,
          },
        }
      : {}),
  };
}

/** Inconsistent strategy flags (exit 2). */
export class StrategyFlagsError extends NatProbeError {
  constructor(message: string) {
    super('strategy-bad-flags', message);
  }
}
