/**
 * Finding external tools a suite or benchmark needs (coturn, …). No vitest import here, so
 * benchmarks can use it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH (or /usr/sbin, where Debian puts some), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface ToolGate {
  available: boolean;
  /** Why the suite cannot run, when it cannot. */
  reason: string;
  paths: Record<string, string>;
}

export function toolGate(tools: readonly string[], install = 'apt-get install coturn'): ToolGate {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const tool of tools) {
    const path = findTool(tool);
    if (path === undefined) missing.push(tool);
    else paths[tool] = path;
  }
  const reason = missing.length === 0 ? '' : `${missing.join(', ')} not found on PATH; install with \`${install}\``;
  return { available: missing.length === 0, reason, paths };
}

/**
 * Call at the top level of a suite file. When tools are missing: in CI (CI=true) throws, so
 * the suite file fails with the reason; elsewhere prints the reason and returns true (skip).
 * (No vitest import: benchmarks load this module too.)
 */
export function skipUnlessTools(gate: ToolGate, suite: string): boolean {
  if (gate.available) return false;
  if (process.env.CI === 'true') throw new Error(`${suite} is required in CI, but ${gate.reason}.`);
  process.stderr.write(`[skip] ${suite}: ${gate.reason}.\n`);
  return true;
}
