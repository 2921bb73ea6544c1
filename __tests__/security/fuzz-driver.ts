/**
 * Drives one fuzz case against a real server and checks the promises that
 * hold whatever was sent: one well-formed answer per complete command (or a
 * close after a framing error), no byte of the outside world disclosed or
 * touched, and a fresh client served.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RawConnection } from '../helpers/raw-connection';
import type { TestServer } from '../helpers/test-server';
import { COMMAND_NAMES, MAX_FRAME, frameOf, uploadPayload } from './fuzz-arbitraries';

type Message = Record<string, unknown>;

/** Content of the file outside the root; no reply or payload may ever contain it. */
export const SECRET = 'TOP-SECRET-7d1f0c3a-outside-the-root';
/** A file the fuzzers never name; `STAT` on it proves the stream is still in step. */
export const SENTINEL = 'zz-sentinel-5b9e';

/** Every code the contract defines (§5). */
const CONTRACT_CODES = new Set([150, 200, 226, 400, 401, 403, 404, 409, 413, 416, 422, 429, 500, 503, 507]);

const KNOWN = new Set<string>(COMMAND_NAMES);

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Put the fixture back: plain files, a folder, the sentinel, and symlinks
 * that leave the root (a folder, a file, a missing file) or loop.
 */
export async function seedRoot(t: TestServer): Promise<void> {
  for (const entry of await fs.readdir(t.root)) await fs.rm(path.join(t.root, entry), { recursive: true, force: true });
  await t.put('a.txt', 'hello');
  await t.put('dir/b.txt', 'inner');
  await t.put(SENTINEL, 'sentinel');
  await fs.symlink(t.outside, path.join(t.root, 'escape'));
  await fs.symlink(path.join(t.outside, 'secret.txt'), path.join(t.root, 'leak.txt'));
  // A write that followed this link would create a file outside the root.
  await fs.symlink(path.join(t.outside, 'missing.txt'), path.join(t.root, 'dangling'));
  await fs.symlink('loop', path.join(t.root, 'loop'));
  // Inside while it lies in dir (root/outside); moved to the root, the same
  // `../outside` is the folder beside the root. Clients may move it around,
  // never to where it leads out.
  await fs.mkdir(path.join(t.root, 'outside'));
  await t.put('outside/inner.txt', 'inside, despite the name');
  await fs.symlink('../outside', path.join(t.root, 'dir', 'hop'));
  await fs.mkdir(path.join(t.root, 'nest', 'dir'), { recursive: true });
  await fs.symlink('../../outside', path.join(t.root, 'nest', 'dir', 'hop'));
}

/**
 * Every symlink under the root, not followed, that resolves must resolve
 * inside it; only the seeded escaping links at the root are exempt.
 */
export async function expectNoEscapingLinks(t: TestServer): Promise<void> {
  const escaping: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(t.root, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      if (!entry.isSymbolicLink() || UNLISTABLE.includes(child)) continue;
      const real = await fs.realpath(path.join(t.root, child)).catch(() => undefined);
      const rel = real === undefined ? '' : path.relative(t.root, real);
      if (real !== undefined && (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))) escaping.push(child);
    }
  };
  await walk('');
  expect(escaping).toEqual([]);
}

/** Root entries that must never be listed: they resolve outside the root, or nowhere. */
export const UNLISTABLE = ['escape', 'leak.txt', 'dangling', 'loop'];

/** Every entry under `dir` with its kind, size, mtime and content digest. */
export async function snapshotTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    const stat = await fs.lstat(full);
    if (entry.isDirectory()) {
      out.push(`${entry.name}/ ${stat.mtimeMs}`);
      for (const inner of await snapshotTree(full)) out.push(`${entry.name}/${inner}`);
    } else {
      const digest = entry.isFile() ? sha256(await fs.readFile(full)) : 'other';
      out.push(`${entry.name} ${stat.size} ${stat.mtimeMs} ${digest}`);
    }
  }
  return out;
}

/** Check one server frame: a response with a contract code and a text message, disclosing nothing. */
export function checkResponse(frame: Message, types: readonly string[] = ['response']): number {
  if (!types.includes(frame.type as string)) throw new Error(`unexpected frame type: ${JSON.stringify(frame).slice(0, 200)}`);
  const code = frame.code;
  if (typeof code !== 'number' || !CONTRACT_CODES.has(code)) throw new Error(`code outside the contract: ${String(code)}`);
  if (typeof frame.message !== 'string') throw new Error('response without a message');
  if (JSON.stringify(frame).includes(SECRET)) throw new Error('a reply disclosed a file outside the root');
  if (code === 500) throw new Error(`500 for client input: ${JSON.stringify(frame)}`);
  return code;
}

/** The command a body encodes, as the server will read it (strict UTF-8, a JSON object, type `command`). */
function decodeCommand(body: Buffer): Message | undefined {
  if (!isUtf8(body)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const message = value as Message;
  return message.type === 'command' && typeof message.command === 'string' ? message : undefined;
}

/** Upper-cased command name a body carries, or undefined. */
export function commandName(body: Buffer): string | undefined {
  const command = decodeCommand(body);
  return typeof command?.command === 'string' ? command.command.toUpperCase() : undefined;
}

/**
 * Send one frame body and consume everything the server owes for it: the
 * response, a GET's payload and trailer, a PUT's result after its payload.
 * Returns `'closed'` when the connection ended as the contract says it must.
 * `seen` collects `NAME code` pairs (`other` for unknown or non-commands), so a
 * test can show what it exercised.
 */
export async function exchange(conn: RawConnection, body: Buffer, seen?: Set<string>): Promise<'open' | 'closed'> {
  conn.write(frameOf(body));
  if (body.length > MAX_FRAME || body.length < 2) {
    expect(checkResponse(await conn.frame())).toBe(body.length > MAX_FRAME ? 413 : 400);
    await conn.waitClosed(3_000);
    return 'closed';
  }
  const reply = await conn.frame();
  const code = checkResponse(reply);
  const command = decodeCommand(body);
  const name = typeof command?.command === 'string' ? command.command.toUpperCase() : undefined;
  seen?.add(`${name !== undefined && KNOWN.has(name) ? name : 'other'} ${code}`);
  if (code === 150) {
    expect(name).toBe('PUT');
    const size = command!.size as number;
    conn.write(uploadPayload(size));
    const result = await conn.frame();
    const final = checkResponse(result);
    expect([226, 422, 507]).toContain(final);
    seen?.add(`PUT ${final}`);
    if (final === 226) expect(result).toMatchObject({ bytes_received: size, sha256: sha256(uploadPayload(size)) });
  } else if (name === 'GET' && code === 200) {
    const length = (reply.size as number) - (reply.offset as number);
    const payload = await conn.bytes(length);
    if (payload.includes(SECRET)) throw new Error('a download disclosed a file outside the root');
    const trailer = await conn.frame();
    checkResponse(trailer, ['transfer']);
    expect(trailer).toMatchObject({ code: 226, bytes: length, sha256: sha256(payload) });
  } else if (name === 'QUIT' && code === 200) {
    await conn.waitClosed(3_000);
    return 'closed';
  }
  return 'open';
}

/** One more command whose answer only the sentinel can give: proves no extra or missing reply before it. */
export async function expectInStep(conn: RawConnection): Promise<void> {
  const reply = await conn.request('STAT', { filename: SENTINEL });
  expect(reply).toMatchObject({ type: 'response', code: 200, file: { name: SENTINEL } });
}

/** What a stream of raw bytes must produce: how many frames are whole, and how framing breaks, if it does. */
export interface StreamModel {
  bodies: Buffer[];
  /** `413` or `400` when a length prefix breaks the framing; the server answers it and closes. */
  fatal?: 400 | 413;
  /** True when bytes are left that do not make a whole frame. */
  partial: boolean;
}

/** The contract's framing (§1) applied to a byte stream. */
export function modelStream(bytes: Buffer): StreamModel {
  const bodies: Buffer[] = [];
  let at = 0;
  while (bytes.length - at >= 4) {
    const length = bytes.readUInt32BE(at);
    if (length > MAX_FRAME) return { bodies, fatal: 413, partial: false };
    if (length < 2) return { bodies, fatal: 400, partial: false };
    if (at + 4 + length > bytes.length) break;
    bodies.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { bodies, partial: at < bytes.length };
}

/** Write `bytes` split at `cuts`, as separate socket writes. */
export function writeInPieces(conn: RawConnection, bytes: Buffer, cuts: number[]): void {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    if (to > from) conn.write(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
}

/**
 * The promises that hold after any case: nothing appeared or changed outside
 * the root, the server logged no crash, and a new client gets its greeting
 * and an LS answer (LS leaving out the escaping symlinks). Each wait is
 * bounded by the connection's frame timeout (5 s): a hang fails, a slow
 * turn on a busy machine does not (how fast the answer comes is the
 * benchmark's business).
 */
export async function expectServerHealthy(t: TestServer, outsideBefore: string[]): Promise<void> {
  expect((await fs.readdir(path.dirname(t.root))).sort()).toEqual(['outside', 'root']);
  await expectNoEscapingLinks(t);
  expect(await snapshotTree(t.outside)).toEqual(outsideBefore);
  const crashes = t.log.lines.filter((l) => l.level === 'ERROR' && /crashed|Session failed|Internal error/.test(l.message));
  expect(crashes).toEqual([]);
  const { conn, greeting } = await RawConnection.open(t.port);
  try {
    expect(greeting).toMatchObject({ type: 'connection', code: 200 });
    const listing = await conn.request('LS');
    expect(listing).toMatchObject({ type: 'response', code: 200 });
    const names = (listing.files as Array<{ name: string }>).map((f) => f.name);
    expect(names.filter((n) => UNLISTABLE.includes(n))).toEqual([]);
  } finally {
    conn.close();
  }
}
