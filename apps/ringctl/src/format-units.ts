// Sizes and counts for people: "1.5 MiB", "12.3k". Pure.

const bytesUnits = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;
const countUnits = ['k', 'M', 'G', 'T', 'P', 'E'] as const;

/** 512 B, 1.5 KiB, 163.0 MiB: binary units, one decimal above bytes. */
export function formatBytes(bytes: bigint | number): string {
  return scaled(Number(bytes), 1024, bytesUnits, (n) => `${n} B`, ' ');
}

/** 999, 1.2k, 57.6k, 3.4M: decimal units, one decimal from a thousand on. */
export function formatCount(count: bigint | number): string {
  return scaled(Number(count), 1000, countUnits, (n) => String(n), '');
}

function scaled(
  value: number,
  base: number,
  units: readonly string[],
  small: (n: number) => string,
  separator: string,
): string {
  if (value < base) return small(Math.round(value));
  let shown = value;
  let unit = -1;
  // 1023.96 KiB would print as "1024.0 KiB": such a value moves up to the next unit too.
  while (Number(shown.toFixed(1)) >= base && unit < units.length - 1) {
    shown /= base;
    unit += 1;
  }
  return `${shown.toFixed(1)}${separator}${units[unit] ?? '?'}`;
}
