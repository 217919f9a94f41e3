/**
 * Can this machine run the lab? Root (namespaces, nftables), iproute2's `ip`, `nft`, and kernel
 * network-namespace support. Failures are LabPreflightErrors the CLI maps to exit code 2.
 */
import { existsSync } from 'node:fs';
import { LabCommandError, LabPreflightError } from './errors.js';
import { runCommand } from './run-command.js';

/** Tools the lab cannot work without, and the Debian package each comes from. */
export const REQUIRED_TOOLS: Readonly<Record<string, { args: string[]; pkg: string }>> = {
  ip: { args: ['-V'], pkg: 'iproute2' },
  nft: { args: ['--version'], pkg: 'nftables' },
};

/** Tools only some lab features use (status, test servers). */
export const OPTIONAL_TOOLS: Readonly<Record<string, { args: string[]; pkg: string }>> = {
  conntrack: { args: ['--version'], pkg: 'conntrack' },
  turnserver: { args: ['--version'], pkg: 'coturn' },
  turnutils_natdiscovery: { args: [], pkg: 'coturn' },
  // The delay forwarder (delay-link.ts) when a lab has --delay.
  python3: { args: ['--version'], pkg: 'python3' },
};

async function toolPresent(tool: string, args: readonly string[]): Promise<boolean> {
  try {
    await runCommand(tool, args, { timeoutMs: 5000 });
    return true;
  } catch (error) {
    // A tool that runs but exits non-zero for this probe (turnutils prints usage and fails) is present.
    const cause = error instanceof LabCommandError ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
    return cause?.code !== 'ENOENT';
  }
}

export interface PreflightOptions {
  /** Extra tools that must exist (names from OPTIONAL_TOOLS or any executable). Default none. */
  tools?: readonly string[];
}

/** Throws a LabPreflightError describing the first missing prerequisite. */
export async function assertLabPrerequisites(options: PreflightOptions = {}): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new LabPreflightError('lab-needs-root', 'The NAT lab creates network namespaces and nftables rules, which needs root. Re-run as root (e.g. with sudo).');
  }
  if (!existsSync('/proc/self/ns/net')) {
    throw new LabPreflightError('lab-no-netns', 'This kernel has no network-namespace support (/proc/self/ns/net is missing). Run the lab on a Linux kernel with CONFIG_NET_NS.');
  }
  const wanted: [string, readonly string[], string][] = [
    ...Object.entries(REQUIRED_TOOLS).map(([tool, info]): [string, readonly string[], string] => [tool, info.args, info.pkg]),
    ...(options.tools ?? []).map((tool): [string, readonly string[], string] => [tool, OPTIONAL_TOOLS[tool]?.args ?? ['--version'], OPTIONAL_TOOLS[tool]?.pkg ?? tool]),
  ];
  const present = await Promise.all(wanted.map(([tool, args]) => toolPresent(tool, args)));
  const missing = wanted.filter((_, index) => !present[index]);
  if (missing.length > 0) {
    const names = missing.map(([tool]) => tool).join(', ');
    const packages = [...new Set(missing.map(([, , pkg]) => pkg))].join(' ');
    throw new LabPreflightError('lab-missing-tool', `The NAT lab needs ${names}, which ${missing.length === 1 ? 'is' : 'are'} not installed. Install it with: apt-get install ${packages}`);
  }
}

export type LabAvailability = { ok: true } | { ok: false; code: string; reason: string };

/**
 * For test suites: can the lab run here? Never throws. Suites fail when this says no and
 * CI=true, and skip with `reason` otherwise.
 */
export async function labAvailable(options: PreflightOptions = {}): Promise<LabAvailability> {
  try {
    await assertLabPrerequisites(options);
    return { ok: true };
  } catch (error) {
    if (error instanceof LabPreflightError) return { ok: false, code: error.code, reason: error.message };
    return { ok: false, code: 'lab-unavailable', reason: error instanceof Error ? error.message : String(error) };
  }
}
