import { InvalidArgumentError } from 'commander';

/** Commander argument parsers with messages that say what is expected. */
export function integerOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}".`);
    }
    return parsed;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function familyOption(value: string): 'auto' | 4 | 6 {
  if (value === 'auto') return 'auto';
  if (value === '4' || value === '6') return Number(value) as 4 | 6;
  throw new InvalidArgumentError(`--family must be 4, 6 or auto, got "${value}".`);
}

/** HOST:PORT for a TCP listener (`serve --metrics`, `field --listen`); an IPv6 literal goes in brackets, [::1]:9100. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}
