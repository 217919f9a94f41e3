/**
 * `lab matrix --strategy ice,predict,birthday,all`: each comma-separated element is one variant,
 * a set of columns run in every cell of the same run. An element is a strategy name as
 * `parseStrategyList` takes it (src/traversal/types.ts: `ice` adds nothing, `all` expands to every
 * strategy beyond ICE), so `ice` is plain ICE and `all` is everything at once. Pure.
 */
import { parseStrategyList } from '../traversal/types.js';
import { LabSpecError } from './errors.js';
import type { MatrixVariant } from './matrix-types.js';

export const ICE_VARIANT: MatrixVariant = { name: 'ice', strategies: [] };

/** Parses `--strategy`: one variant per element, in the order given, without duplicates. */
export function parseStrategyVariants(text: string): MatrixVariant[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new LabSpecError('strategy', '--strategy needs at least one variant: a comma-separated list of ice, predict, birthday, relay-ladder, portmap or all.');
  const variants: MatrixVariant[] = [];
  for (const name of names) {
    // Throws StrategyNameError (unknown-strategy, exit 2) with its one-line message.
    const strategies = parseStrategyList(name);
    if (!variants.some((v) => v.name === name)) variants.push({ name, strategies });
  }
  return variants;
}

/** The variant theory judges exactly and `direct` holds: `ice` when it ran, else the first one. */
export function baselineVariant(variants: readonly MatrixVariant[]): MatrixVariant {
  return variants.find((v) => v.name === ICE_VARIANT.name) ?? variants[0] ?? ICE_VARIANT;
}

/** Rooms of a variant's direct sessions: `direct-i` for ice (as before variants), `direct-<name>-i` otherwise. */
export function variantRoomPrefix(variant: Pick<MatrixVariant, 'name'>): string {
  return variant.name === ICE_VARIANT.name ? 'direct' : `direct-${variant.name}`;
}

/**
 * True when a variant asks for portmap: every cell then runs miniupnpd in its NAT routers
 * (startLabServers `portmap`), for every variant alike, so plain ICE is measured with the same
 * gateways present (it asks them nothing).
 */
export function variantsNeedGateway(variants: readonly MatrixVariant[]): boolean {
  return variants.some((v) => v.strategies.includes('portmap'));
}

/** True when the variant is just the default (`--strategy ice`): the run then looks as before variants. */
export function onlyIce(variants: readonly MatrixVariant[]): boolean {
  return variants.length === 1 && variants[0]!.name === ICE_VARIANT.name;
}
