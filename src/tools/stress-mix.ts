import type { FtpClient } from '../client/ftp-client';
import type { FileEntry } from '../protocol/messages';
import { bufferSource, compareContent, digestOf, HashingSink, randomBytesOf, type ContentDigest } from './integrity';

/**
 * The work one stress session does, one protocol command per operation, so
 * every latency sample is the latency of exactly one command. Each session
 * owns a folder nobody else touches, which lets it know exactly what the
 * folder must hold and check the server against that after every change.
 */

/** Rows of the final table: commands, with transfers split by size class. */
export const OP_NAMES = ['CONNECT', 'LS', 'STAT', 'GET', 'GET-large', 'PUT', 'PUT-large', 'MKDIR', 'RENAME', 'DELETE', 'RMDIR'] as const;
export type OpName = (typeof OP_NAMES)[number];

/** Operations the mix draws from (CONNECT happens on its own). */
export type OpKind = Exclude<OpName, 'CONNECT'>;

/** Relative frequency of each operation: mostly reads and small files, as on a real file server. */
export const MIX_WEIGHTS: Readonly<Record<OpKind, number>> = Object.freeze({
  LS: 10,
  STAT: 10,
  GET: 30,
  'GET-large': 3,
  PUT: 15,
  'PUT-large': 2,
  MKDIR: 4,
  RENAME: 6,
  DELETE: 8,
  RMDIR: 4,
});

/** Files a session keeps in its folder at most, and folders. */
const MAX_OWN_FILES = 8;
const MAX_OWN_DIRS = 3;

/** A bug the tool caught: what arrived is not what was put there. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** A file the run seeded, with what it must contain. */
export interface SeedFile {
  path: string;
  digest: ContentDigest;
}

/** The shared, read-only files every session downloads. */
export interface SeedSet {
  /** The run's folder, e.g. `stress-lz3k9a-1f2e`. */
  folder: string;
  small: SeedFile[];
  large: SeedFile[];
}

/** Sizes the mix uses, in bytes. */
export interface MixSizes {
  smallMin: number;
  smallMax: number;
  large: number;
}

/** One session's view of its own folder. */
export class SessionState {
  /** Files this session put in its folder, by name, with their content. */
  readonly files = new Map<string, ContentDigest>();
  /** Empty folders this session made. */
  readonly dirs = new Set<string>();
  /** Names an interrupted command may or may not have changed: tolerated, never trusted. */
  readonly strays = new Set<string>();
  private counter = 0;

  constructor(
    /** The session's folder, e.g. `stress-…/c3`. */
    readonly folder: string,
    readonly seeds: SeedSet,
    readonly sizes: MixSizes,
    readonly random: () => number = Math.random,
  ) {}

  /** A name never used before in this folder. */
  freshName(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** The session's one large file, if it has one. */
  largeFile(): string | undefined {
    for (const [name, digest] of this.files) if (digest.size > this.sizes.smallMax) return name;
    return undefined;
  }

  /** After a failed command: its names can no longer be trusted. */
  forget(names: readonly string[]): void {
    for (const name of names) {
      this.files.delete(name);
      this.dirs.delete(name);
      this.strays.add(name);
    }
  }
}

/**
 * Draw the next operation by weight, then bend it to what the folder allows:
 * no DELETE of nothing, no endless growth.
 */
export function pickOp(state: SessionState): OpKind {
  const kinds = Object.keys(MIX_WEIGHTS) as OpKind[];
  const total = kinds.reduce((sum, kind) => sum + MIX_WEIGHTS[kind], 0);
  let roll = state.random() * total;
  let kind: OpKind = kinds[kinds.length - 1];
  for (const candidate of kinds) {
    roll -= MIX_WEIGHTS[candidate];
    if (roll < 0) {
      kind = candidate;
      break;
    }
  }
  const files = state.files.size;
  if ((kind === 'RENAME' || kind === 'DELETE') && files === 0) return 'PUT';
  if (kind === 'PUT' && files >= MAX_OWN_FILES) return 'DELETE';
  if (kind === 'PUT-large' && files >= MAX_OWN_FILES && state.largeFile() === undefined) return 'DELETE';
  if (kind === 'RMDIR' && state.dirs.size === 0) return 'MKDIR';
  if (kind === 'MKDIR' && state.dirs.size >= MAX_OWN_DIRS) return 'RMDIR';
  return kind;
}

/** What one operation did: the row it counts in and the payload bytes it moved. */
export interface OpOutcome {
  name: OpName;
  bytes: number;
}

/**
 * Run one operation on `client`. Resolves with what it did; rejects with an
 * {@link IntegrityError} when the server's answer contradicts what the
 * session knows, or with the client's error when a command fails.
 */
export async function runOp(kind: OpKind, client: FtpClient, state: SessionState): Promise<OpOutcome> {
  const own = (name: string) => `${state.folder}/${name}`;
  switch (kind) {
    case 'LS':
      return state.random() < 0.5 ? listSeeds(client, state) : listOwn(client, state);
    case 'STAT': {
      const target = ownOrSeed(state, state.seeds.small);
      const entry = await client.stat(target.path);
      if (entry.type !== 'file' || entry.size !== target.digest.size) {
        throw new IntegrityError(`STAT ${target.path}: ${entry.type} of ${entry.size} bytes, expected a file of ${target.digest.size}`);
      }
      return { name: 'STAT', bytes: 0 };
    }
    case 'GET':
      return download(client, ownOrSeed(state, state.seeds.small), state);
    case 'GET-large':
      return download(client, state.pick(state.seeds.large), state);
    case 'PUT':
    case 'PUT-large': {
      const large = kind === 'PUT-large';
      const { smallMin, smallMax } = state.sizes;
      const size = large ? state.sizes.large : smallMin + Math.floor(state.random() * (smallMax - smallMin + 1));
      // At most one large file per session: a second large PUT replaces it, which also exercises atomic overwrite.
      const name = (large && state.largeFile()) || state.freshName(large ? 'big' : 'f');
      const bytes = randomBytesOf(size);
      const digest = digestOf(bytes);
      try {
        const result = await client.put(own(name), bufferSource(bytes), size, { sha256: digest.sha256 });
        const problem = compareContent(digest, { size: result.bytes, sha256: result.sha256 });
        if (problem) throw new IntegrityError(`PUT ${own(name)}: server confirmed ${problem}`);
      } catch (err) {
        state.forget([name]);
        throw err;
      }
      state.files.set(name, digest);
      return { name: kind, bytes: size };
    }
    case 'RENAME': {
      const from = state.pick([...state.files.keys()]);
      const to = state.freshName('r');
      const digest = state.files.get(from) as ContentDigest;
      try {
        await client.rename(own(from), own(to));
      } catch (err) {
        state.forget([from, to]);
        throw err;
      }
      state.files.delete(from);
      state.files.set(to, digest);
      return { name: 'RENAME', bytes: 0 };
    }
    case 'DELETE': {
      const name = state.pick([...state.files.keys()]);
      state.files.delete(name);
      try {
        await client.delete(own(name));
      } catch (err) {
        state.forget([name]);
        throw err;
      }
      return { name: 'DELETE', bytes: 0 };
    }
    case 'MKDIR': {
      const name = state.freshName('d');
      try {
        await client.mkdir(own(name));
      } catch (err) {
        state.forget([name]);
        throw err;
      }
      state.dirs.add(name);
      return { name: 'MKDIR', bytes: 0 };
    }
    case 'RMDIR': {
      const name = state.pick([...state.dirs]);
      state.dirs.delete(name);
      try {
        await client.rmdir(own(name));
      } catch (err) {
        state.forget([name]);
        throw err;
      }
      return { name: 'RMDIR', bytes: 0 };
    }
  }
}

/** A small file to read: one of the session's own (checked against what it put) or a seed. */
function ownOrSeed(state: SessionState, seeds: readonly SeedFile[]): SeedFile {
  const small = [...state.files].filter(([, d]) => d.size <= state.sizes.smallMax);
  if (small.length > 0 && state.random() < 0.4) {
    const [name, digest] = state.pick(small);
    return { path: `${state.folder}/${name}`, digest };
  }
  return state.pick(seeds);
}

async function download(client: FtpClient, file: SeedFile, state: SessionState): Promise<OpOutcome> {
  const sink = new HashingSink();
  await client.get(file.path, sink);
  const problem = compareContent(file.digest, sink.digest());
  if (problem) throw new IntegrityError(`GET ${file.path}: received ${problem}`);
  return { name: file.digest.size > state.sizes.smallMax ? 'GET-large' : 'GET', bytes: file.digest.size };
}

/** The run folder must list every seed with its size (other sessions' folders come and go beside them). */
async function listSeeds(client: FtpClient, state: SessionState): Promise<OpOutcome> {
  const listed = byName(await client.list(state.seeds.folder));
  for (const seed of [...state.seeds.small, ...state.seeds.large]) {
    const name = seed.path.slice(seed.path.lastIndexOf('/') + 1);
    const entry = listed.get(name);
    if (!entry || entry.type !== 'file' || entry.size !== seed.digest.size) {
      throw new IntegrityError(`LS ${state.seeds.folder}: ${name} ${entry ? `is a ${entry.type} of ${entry.size} bytes` : 'is missing'}`);
    }
  }
  return { name: 'LS', bytes: 0 };
}

/** The session's own folder must hold exactly what the session put there (strays aside). */
async function listOwn(client: FtpClient, state: SessionState): Promise<OpOutcome> {
  const listed = byName(await client.list(state.folder));
  const where = `LS ${state.folder}`;
  for (const [name, digest] of state.files) {
    const entry = listed.get(name);
    if (!entry || entry.type !== 'file' || entry.size !== digest.size) {
      throw new IntegrityError(`${where}: ${name} ${entry ? `is a ${entry.type} of ${entry.size} bytes` : 'is missing'}, expected ${digest.size} bytes`);
    }
  }
  for (const name of state.dirs) {
    if (listed.get(name)?.type !== 'dir') throw new IntegrityError(`${where}: folder ${name} is missing`);
  }
  for (const name of listed.keys()) {
    if (!state.files.has(name) && !state.dirs.has(name) && !state.strays.has(name)) {
      throw new IntegrityError(`${where}: unexpected entry ${name}`);
    }
  }
  return { name: 'LS', bytes: 0 };
}

function byName(entries: readonly FileEntry[]): Map<string, FileEntry> {
  return new Map(entries.map((entry) => [entry.name, entry]));
}
