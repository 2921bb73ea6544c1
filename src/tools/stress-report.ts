import { OP_NAMES } from './stress-mix';
import type { StressReport } from './stress-run';

/** Exit codes of `npm run stress`. */
export const STRESS_EXIT = Object.freeze({
  ok: 0,
  /** Some bytes, sizes or listings were not what was put there. Always fatal. */
  integrity: 1,
  /** Bad command-line values. */
  usage: 2,
  /** Connection or command failures (allowed with `--allow-errors`), or nothing got done. */
  errors: 3,
});

/** The exit code a report deserves. */
export function stressExitCode(report: StressReport, allowErrors: boolean): number {
  if (report.integrityFailures > 0) return STRESS_EXIT.integrity;
  if (report.ops === 0) return STRESS_EXIT.errors;
  if (!allowErrors && (report.errors > 0 || !report.cleanedUp)) return STRESS_EXIT.errors;
  return STRESS_EXIT.ok;
}

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : '-');

/**
 * The final table: one row per command, then the totals. Plain text with
 * aligned columns, readable in a terminal and easy to grep.
 */
export function formatStressTable(report: StressReport): string {
  const header = ['command', 'count', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const rows: string[][] = [];
  for (const name of OP_NAMES) {
    const row = report.commands[name];
    if (!row) continue;
    rows.push([name, String(row.count), String(row.errors), ms(row.p50), ms(row.p95), ms(row.p99), ms(row.max)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(header), rule, ...rows.map(line), rule];
  out.push(
    `${report.clients} clients, ${report.seconds.toFixed(1)} s against ${report.host}:${report.port} (run ${report.runId})`,
    `total: ${report.ops} ops (${report.opsPerSec.toFixed(0)} ops/s), ${(report.bytes / 1e6).toFixed(1)} MB moved, ${report.mbPerSec.toFixed(1)} MB/s`,
    `errors: ${report.errors} (integrity ${report.integrityFailures}, connection ${report.connectionFailures})` +
      `; run folder ${report.cleanedUp ? 'removed' : 'NOT removed'}`,
  );
  for (const sample of report.errorSamples.slice(0, 10)) out.push(`  ${sample.count}× ${sample.message}`);
  return out.join('\n');
}
