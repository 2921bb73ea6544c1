/**
 * Sizes on the command line of the tools: `65536`, `64K`, `64KiB`, `4M`,
 * `4MiB`, `1G`. Units are binary (K = 1024), since the sizes people type
 * here are file sizes.
 */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') return text;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(k|kib|kb|m|mib|mb|g|gib|gb)?\s*$/i.exec(text);
  if (!match) throw new Error(`not a size: ${text} (try 65536, 64KiB, 4MiB, 1GiB)`);
  const unit = (match[2] ?? '').toLowerCase()[0];
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Math.round(Number(match[1]) * factor);
}
