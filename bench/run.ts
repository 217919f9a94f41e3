/**
 * `npm run bench [-- filter]`: runs every bench/*.bench.ts (or those whose file name contains
 * the filter) and prints each figure beside its same-run baseline and target.
 * Exit code 1 when a target is missed, so CI could gate on it.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { meetsTarget, type Bench, type BenchResult } from './harness.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filter === undefined || name.includes(filter))
  .sort();

function format(value: number, unit: string): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

let missed = 0;
for (const file of files) {
  process.stdout.write(`\n## ${file}\n`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: Bench };
  let results: BenchResult[];
  try {
    results = await mod.default();
  } catch (error) {
    missed++;
    process.stdout.write(`  FAILED to run: ${error instanceof Error ? error.message : String(error)}\n`);
    continue;
  }
  for (const result of results) {
    const ok = meetsTarget(result);
    if (ok === false) missed++;
    const verdict = ok === undefined ? '' : ok ? '  [target met]' : '  [TARGET MISSED]';
    const baseline = result.baseline ? `   baseline ${result.baseline.label}: ${format(result.baseline.value, result.unit)}` : '';
    const target = result.target ? `   target ${result.target.op} ${format(result.target.value, result.unit)}` : '';
    process.stdout.write(`  ${result.name}: ${format(result.value, result.unit)}${baseline}${target}${verdict}\n`);
    if (result.notes) process.stdout.write(`    ${result.notes}\n`);
  }
}
process.stdout.write(`\n${missed === 0 ? 'all targets met' : `${missed} target(s) missed`}\n`);
process.exitCode = missed === 0 ? 0 : 1;
