import fs from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { parseSize } from '../src/tools/sizes';
import { formatMarkdown, writeDocs } from './markdown';
import { FULL_SETTINGS, PHASES, QUICK_SETTINGS, runBench, type BenchSettings, type Phase } from './run';
import { PROJECT_ROOT } from './server-process';

/**
 * `npm run bench [-- options]`: the reproducible benchmark of issue 5.
 * Prints a Markdown table on stdout, progress on stderr, and writes the
 * figures to `bench/results/<timestamp>.json`; with `--write-docs` also
 * into `docs/BENCHMARKS.md` (between its markers).
 */

/** Exit codes: 0 done, 1 a phase failed, 2 bad options. */
export async function main(argv: string[]): Promise<number> {
  let settings: BenchSettings;
  let out: { dir: string; docs: string | null; json: boolean };
  try {
    const args = await yargs(argv)
      .scriptName('bench')
      .usage('$0 [options]\n\nStarts the server in a child process on 127.0.0.1 and measures it. Every figure is the median of --runs runs.')
      .option('quick', { type: 'boolean', default: false, describe: 'Tiny sizes and one run: checks the tool, measures nothing' })
      .option('runs', { type: 'number', describe: `Runs per figure (default ${FULL_SETTINGS.runs})` })
      .option('file-size', { type: 'string', describe: 'Size of the throughput file (default 1GiB)' })
      .option('loopback-bytes', { type: 'string', describe: 'Bytes per loopback measurement (default 1GiB)' })
      .option('clients', { type: 'number', describe: `Clients started at once (default ${FULL_SETTINGS.burstClients})` })
      .option('in-flight', { type: 'number', describe: `Sessions in flight for the steady-rate test (default ${FULL_SETTINGS.inFlight})` })
      .option('in-flight-clients', { type: 'number', describe: `Sessions in the steady-rate test (default ${FULL_SETTINGS.inFlightClients})` })
      .option('small-file-size', { type: 'string', describe: 'File each short session downloads (default 64KiB)' })
      .option('idle', { type: 'number', describe: `Idle sessions for the memory test (default ${FULL_SETTINGS.idleSessions})` })
      .option('idle-rest', { type: 'number', describe: `Seconds the idle sessions rest before the second memory reading (default ${FULL_SETTINGS.idleRestMs / 1000})` })
      .option('gets', { type: 'number', describe: `GETs per run on one session (default ${FULL_SETTINGS.gets})` })
      .option('get-size', { type: 'string', describe: 'Size of those GETs (default 4KiB)' })
      .option('pipeline', { type: 'number', describe: `Depth of the pipelined GET variant (default ${FULL_SETTINGS.pipelineDepth})` })
      .option('skip', { type: 'array', string: true, choices: PHASES, default: [] as string[], describe: 'Phases to leave out' })
      .option('peers', { type: 'boolean', default: false, describe: 'Also measure vsftpd + curl downloads (if installed) on the same file' })
      .option('vsftpd-uploads', { type: 'boolean', default: true, describe: 'In the uploads phase, also upload to vsftpd with curl when installed' })
      .option('compare-root', { type: 'string', describe: 'Another built checkout whose server also takes the uploads, alternated (before/after in one run)' })
      .option('s3-size', { type: 'string', describe: 'Bytes per transfer of the S3 phase (default 2GiB)' })
      .option('s3-runs', { type: 'number', describe: `Rounds of the S3 phase (default ${FULL_SETTINGS.s3Runs})` })
      .option('s3-endpoint', { type: 'string', describe: 'S3 phase against this endpoint (MinIO, S3) instead of s3rver; credentials from the AWS SDK chain' })
      .option('s3-bucket', { type: 'string', describe: 'Bucket of --s3-endpoint' })
      .option('timeout', { type: 'number', default: FULL_SETTINGS.timeoutMs / 1000, describe: 'Client timeout, seconds' })
      .option('server-log-level', { type: 'string', default: FULL_SETTINGS.serverLogLevel, choices: ['debug', 'info', 'warn', 'error'] })
      .option('out', { type: 'string', default: path.join(PROJECT_ROOT, 'bench', 'results'), describe: 'Folder for the JSON results' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the JSON instead of the Markdown on stdout' })
      .option('write-docs', { type: 'boolean', default: false, describe: 'Also write the table into the docs file' })
      .option('docs-file', { type: 'string', default: path.join(PROJECT_ROOT, 'docs', 'BENCHMARKS.md') })
      .strict()
      .exitProcess(false)
      .fail((message, err) => {
        throw err ?? new Error(message);
      })
      .help()
      .parse();
    if (args.help) return 0;
    const base = args.quick ? QUICK_SETTINGS : FULL_SETTINGS;
    const bytes = (value: string | undefined, fallback: number) => (value === undefined ? fallback : parseSize(value));
    const fileSize = bytes(args['file-size'], base.fileSize);
    settings = {
      runs: args.runs ?? base.runs,
      fileSize,
      loopbackBytes: bytes(args['loopback-bytes'], base.loopbackBytes),
      burstClients: args.clients ?? base.burstClients,
      inFlight: args['in-flight'] ?? base.inFlight,
      inFlightClients: args['in-flight-clients'] ?? base.inFlightClients,
      smallFileSize: bytes(args['small-file-size'], base.smallFileSize),
      idleSessions: args.idle ?? base.idleSessions,
      idleRestMs: args['idle-rest'] === undefined ? base.idleRestMs : args['idle-rest'] * 1000,
      gets: args.gets ?? base.gets,
      getSize: bytes(args['get-size'], base.getSize),
      pipelineDepth: args.pipeline ?? base.pipelineDepth,
      peers: args.peers,
      vsftpdUploads: args['vsftpd-uploads'],
      ...(args['compare-root'] ? { compareRoot: path.resolve(args['compare-root']) } : {}),
      skip: args.skip as Phase[],
      timeoutMs: args.timeout * 1000,
      serverLogLevel: args['server-log-level'],
      s3FileSize: bytes(args['s3-size'], base.s3FileSize),
      s3Runs: args['s3-runs'] ?? base.s3Runs,
      ...(args['s3-endpoint'] !== undefined ? { s3Endpoint: args['s3-endpoint'] } : {}),
      ...(args['s3-bucket'] !== undefined ? { s3Bucket: args['s3-bucket'] } : {}),
    };
    if ((settings.s3Endpoint === undefined) !== (settings.s3Bucket === undefined)) throw new Error('give --s3-endpoint and --s3-bucket together');
    for (const key of ['runs', 's3Runs', 's3FileSize', 'burstClients', 'inFlight', 'inFlightClients', 'idleSessions', 'gets', 'pipelineDepth', 'fileSize', 'loopbackBytes'] as const) {
      if (!Number.isInteger(settings[key]) || settings[key] < 1) throw new Error(`${key} must be a positive whole number`);
    }
    if (!(settings.timeoutMs > 0)) throw new Error('--timeout must be positive');
    if (!(settings.idleRestMs >= 0)) throw new Error('--idle-rest must not be negative');
    out = { dir: args.out, docs: args['write-docs'] ? args['docs-file'] : null, json: args.json };
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }

  const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
  let result;
  try {
    result = await runBench(settings, `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`, say);
  } catch (err) {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const markdown = formatMarkdown(result);
  await fs.mkdir(out.dir, { recursive: true });
  const file = path.join(out.dir, `${result.startedAt.replace(/[:.]/g, '-')}.json`);
  await fs.writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`figures written to ${file}`);
  if (out.docs) {
    await writeDocs(out.docs, markdown);
    say(`table written to ${out.docs}`);
  }
  process.stdout.write(out.json ? `${JSON.stringify(result, null, 2)}\n` : `${markdown}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
