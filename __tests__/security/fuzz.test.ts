/**
 * Property-based fuzzing of one real server (issue 4): random and mutated
 * frames, random command sequences, raw byte streams and hostile paths. After
 * every case: each complete command got exactly one answer (or the connection
 * closed after a framing error), nothing outside the root changed, and a new
 * client is served. Every wait is bounded; every property runs a fixed
 * number of cases, all of them.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { smallFileReader } from '../../src/storage/small-file-reader';
import { MAX_UNSENT_REPLY_BYTES } from '../../src/config/defaults';
import { encodeFrame } from '../../src/protocol/frame-encoder';
import { PullConnection } from '../helpers/pull-connection';
import { RawConnection } from '../helpers/raw-connection';
import { startTestServer, type TestServer } from '../helpers/test-server';
import { ESCAPING_PATHS, FUZZ_MAX_UPLOAD, MAX_FRAME, PATH_FIELDS, frameBodyArb, frameOf, invalidPathArb, rawStreamArb, uploadPayload } from './fuzz-arbitraries';
import {
  SECRET, SENTINEL, checkResponse, commandName, exchange, expectInStep, expectServerHealthy, modelStream, seedRoot, snapshotTree, writeInPieces,
} from './fuzz-driver';

jest.setTimeout(60_000);

/**
 * Runs per property times this: `FTP_FUZZ_SCALE=10 npx jest fuzz` fuzzes
 * ten times deeper by hand. The default keeps the file near 15 s on a quiet
 * 2-core machine, so that on a busy one every property still ends well
 * inside its timeout.
 */
const SCALE = Number(process.env.FTP_FUZZ_SCALE ?? 1) || 1;
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

/**
 * `fc.assert` where every run happens. No time limit: a property stopped by
 * `interruptAfterTimeLimit` counts as passed after however few runs a busy
 * machine allowed, and its async run in flight is abandoned, not stopped —
 * it goes on in the background into the next property (seen: EEXIST while
 * two cases seeded the root at once). So each property has a fixed number
 * of runs, and that they all ran is checked.
 */
async function assertEveryRun<Ts>(property: fc.IAsyncProperty<Ts>, params: fc.Parameters<Ts> & { numRuns: number }): Promise<void> {
  const details = await fc.check(property, params);
  if (details.failed) throw new Error(fc.defaultReportMessage(details), { cause: details.errorInstance });
  expect({ interrupted: details.interrupted, numRuns: details.numRuns }).toEqual({ interrupted: false, numRuns: params.numRuns });
}

let t: TestServer;
let outsideBefore: string[];

beforeAll(async () => {
  t = await startTestServer({
    limits: { maxConnections: 1_000, maxConnectionsPerIp: 1_000, rateLimit: 0, maxUploadSize: FUZZ_MAX_UPLOAD, frameTimeoutMs: 5_000 },
  });
  await fs.writeFile(path.join(t.outside, 'secret.txt'), SECRET);
  await fs.mkdir(path.join(t.outside, 'sub'));
  await fs.writeFile(path.join(t.outside, 'sub', 'keep.txt'), 'outside');
  outsideBefore = await snapshotTree(t.outside);
  // The small-file worker loads ts-node on its first job (seconds on a busy
  // machine): start it here, not inside a request with a 5 s deadline.
  await smallFileReader.read(t.root, ['no-such-file'], 1);
});

afterAll(async () => {
  await t.stop();
});

/** Fresh fixture, one greeted connection for `body`, then the after-every-case checks. */
async function withConnection(body: (conn: RawConnection) => Promise<void>): Promise<void> {
  await seedRoot(t);
  const { conn, greeting } = await RawConnection.open(t.port);
  try {
    expect(greeting).toMatchObject({ type: 'connection', code: 200 });
    await body(conn);
  } finally {
    conn.close();
  }
  await expectServerHealthy(t, outsideBefore);
}

const frameBody = (message: object) => Buffer.from(JSON.stringify({ type: 'command', ...message }));
const digestOf = (size: number) => createHash('sha256').update(uploadPayload(size)).digest('hex');

/** A sequence that does real work, run before the random ones so every exchange path is always checked. */
const WORKING_SEQUENCE = [
  frameBody({ command: 'PUT', filename: 'new.txt', size: 10, sha256: digestOf(10).toUpperCase() }),
  frameBody({ command: 'PUT', filename: 'dir/bad.txt', size: 10, sha256: digestOf(11) }),
  frameBody({ command: 'get', filename: 'new.txt', offset: 3 }),
  frameBody({ command: 'RENAME', from: 'new.txt', to: 'dir/moved.txt' }),
  frameBody({ command: 'LS', path: 'dir' }),
  frameBody({ command: 'PUT', filename: 'escape/new.txt', size: 1 }),
  frameBody({ command: 'RENAME', from: 'dir/hop', to: 'hop' }),
  frameBody({ command: 'RENAME', from: 'nest/dir', to: 'moved-dir' }),
  Buffer.from('{"type":"command",'),
];

/** A request for `name` with `value` in its path field (`which` picks RENAME's side). */
function pathCommand(name: string, value: string, which: 0 | 1): Record<string, unknown> {
  const fields = PATH_FIELDS[name];
  const message: Record<string, unknown> = { type: 'command', command: name };
  if (fields.length === 2) {
    message[fields[which]] = value;
    message[fields[1 - which]] = which === 0 ? 'renamed.txt' : 'a.txt';
  } else {
    message[fields[0]] = value;
  }
  if (name === 'PUT') message.size = 1;
  return message;
}

describe('fuzzing a live server', () => {
  it('answers every random or mutated frame with exactly one well-formed response', async () => {
    await assertEveryRun(
      fc.asyncProperty(frameBodyArb, async (body) => {
        await withConnection(async (conn) => {
          if ((await exchange(conn, body)) === 'open') await expectInStep(conn);
        });
      }),
      { numRuns: runs(100) },
    );
  });

  it('keeps serving through random command sequences (uploads and downloads included)', async () => {
    const seen = new Set<string>();
    await assertEveryRun(
      fc.asyncProperty(fc.array(frameBodyArb, { minLength: 1, maxLength: 8 }), async (bodies) => {
        await withConnection(async (conn) => {
          for (const body of bodies) {
            if ((await exchange(conn, body, seen)) === 'closed') return;
          }
          await expectInStep(conn);
        });
      }),
      { numRuns: runs(60), examples: [[WORKING_SEQUENCE]] },
    );
    // The driver's checks for every kind of exchange ran: uploads (kept and
    // refused), downloads and refusals (the example guarantees these; random
    // runs add breadth, listed below).
    expect([...seen]).toEqual(expect.arrayContaining(['PUT 150', 'PUT 226', 'PUT 422', 'GET 200', 'LS 200', 'RENAME 200', 'RENAME 403', 'PUT 403', 'other 400']));
    console.log(`command outcomes exercised by the sequences: ${[...seen].sort().join(', ')}`);
  });

  it('answers pipelined raw streams exactly as the framing rules predict, however they are split', async () => {
    await assertEveryRun(
      fc.asyncProperty(rawStreamArb, async ({ bytes, cuts }) => {
        const model = modelStream(bytes);
        // Payload-carrying or closing commands would need a live client, not a model.
        fc.pre(model.bodies.every((b) => !['GET', 'PUT', 'QUIT'].includes(commandName(b) ?? '')));
        await withConnection(async (conn) => {
          writeInPieces(conn, bytes, cuts);
          for (let i = 0; i < model.bodies.length; i++) checkResponse(await conn.frame());
          if (model.fatal) {
            expect(checkResponse(await conn.frame())).toBe(model.fatal);
            await conn.waitClosed(3_000);
          } else if (!model.partial) {
            await expectInStep(conn);
          }
        });
      }),
      { numRuns: runs(80) },
    );
  });

  it('survives arbitrary bytes followed by a close or a half-close, and serves the next client', async () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 4_096 }).map((b) => Buffer.from(b)),
      rawStreamArb.map((s) => s.bytes),
    );
    await assertEveryRun(
      fc.asyncProperty(bytesArb, fc.boolean(), async (bytes, halfClose) => {
        await seedRoot(t);
        const conn = await RawConnection.connect(t.port);
        conn.write(bytes);
        if (halfClose) conn.socket.end();
        else conn.close();
        await expectServerHealthy(t, outsideBefore);
        conn.close();
      }),
      { numRuns: runs(60) },
    );
  });

  it('leaves neither a temporary nor a half file when an upload is abandoned midway', async () => {
    const uploadArb = fc.record({
      filename: fc.constantFrom('a.txt', 'new.txt', 'dir/b.txt', 'dir/c.txt'),
      size: fc.integer({ min: 1, max: FUZZ_MAX_UPLOAD }),
      fraction: fc.double({ min: 0, max: 0.999, noNaN: true }),
      halfClose: fc.boolean(),
    });
    await assertEveryRun(
      fc.asyncProperty(uploadArb, async ({ filename, size, fraction, halfClose }) => {
        await seedRoot(t);
        const target = path.join(t.root, filename);
        const before = await fs.readFile(target, 'utf8').catch(() => null);
        const { conn } = await RawConnection.open(t.port);
        expect(await conn.request('PUT', { filename, size })).toMatchObject({ code: 150 });
        conn.write(uploadPayload(Math.floor(size * fraction)));
        if (halfClose) conn.socket.end();
        else conn.close();
        // The server notices the loss and removes its temp file; bounded wait.
        const temps = async () => (await fs.readdir(t.root, { recursive: true })).filter((n) => n.includes('.ftp-upload-'));
        const deadline = Date.now() + 10_000;
        while ((await temps()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(await temps()).toEqual([]);
        expect(await fs.readFile(target, 'utf8').catch(() => null)).toBe(before);
        conn.close();
        await expectServerHealthy(t, outsideBefore);
      }),
      { numRuns: runs(30) },
    );
  });

  it('answers 400 to every command given a path the contract refuses', async () => {
    const commands = Object.keys(PATH_FIELDS);
    await assertEveryRun(
      fc.asyncProperty(fc.constantFrom(...commands), invalidPathArb, fc.constantFrom<0 | 1>(0, 1), async (name, bad, which) => {
        await withConnection(async (conn) => {
          const reply = await conn.request(name, pathCommand(name, bad, which));
          expect(reply).toMatchObject({ type: 'response', code: 400 });
          await expectInStep(conn);
        });
      }),
      { numRuns: runs(80) },
    );
  });
});

describe('pipelining without reading', () => {
  /** A command whose answer is known in advance, so its place in the answers can be checked. */
  type Piped =
    | { kind: 'get'; offset: number }
    | { kind: 'stat'; name: 'a.txt' | 'dir/b.txt' | 'missing.txt' }
    | { kind: 'ls'; path: '/' | 'dir' }
    | { kind: 'invalid'; body: string };
  const PIPE_BYTES = 64 * 1024;
  const pipedArb: fc.Arbitrary<Piped> = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: PIPE_BYTES }).map((offset) => ({ kind: 'get' as const, offset })) },
    { weight: 2, arbitrary: fc.constantFrom('a.txt', 'dir/b.txt', 'missing.txt').map((name) => ({ kind: 'stat' as const, name })) },
    { weight: 1, arbitrary: fc.constantFrom('/', 'dir').map((p) => ({ kind: 'ls' as const, path: p })) },
    { weight: 1, arbitrary: fc.constantFrom('[]', '{x', '{}', '{"type":"command","command":"FROB"}').map((body) => ({ kind: 'invalid' as const, body })) },
  );
  const encode = (c: Piped): Buffer => {
    switch (c.kind) {
      case 'get': return encodeFrame({ type: 'command', command: 'GET', filename: 'pipe.bin', offset: c.offset });
      case 'stat': return encodeFrame({ type: 'command', command: 'STAT', filename: c.name });
      case 'ls': return encodeFrame({ type: 'command', command: 'LS', path: c.path });
      case 'invalid': return frameOf(Buffer.from(c.body));
    }
  };

  it('answers every pipelined command once, in order, after the client starts reading', async () => {
    const content = randomBytes(PIPE_BYTES);
    let heldBack = 0;
    let cases = 0;
    await assertEveryRun(
      fc.asyncProperty(fc.array(pipedArb, { minLength: 20, maxLength: 200 }), async (commands) => {
        // Fewer than the 100 invalid frames that close a connection.
        fc.pre(commands.filter((c) => c.kind === 'invalid').length < 100);
        cases += 1;
        await seedRoot(t);
        await fs.writeFile(path.join(t.root, 'pipe.bin'), content);
        const { conn, greeting } = await PullConnection.open(t.port);
        try {
          expect(greeting).toMatchObject({ code: 200 });
          conn.write(Buffer.concat(commands.map(encode)));
          // Read nothing for a moment; when the answers surely outgrow the
          // kernel's socket buffers, until the server holds back.
          const payloads = commands.reduce((sum, c) => sum + (c.kind === 'get' ? PIPE_BYTES - c.offset : 0), 0);
          const deadline = Date.now() + (payloads > 8 * 1024 * 1024 ? 5_000 : 50);
          while (Date.now() < deadline && !t.server.unsentBytesPerSession.some((n) => n > MAX_UNSENT_REPLY_BYTES)) {
            await new Promise((r) => setTimeout(r, 5));
          }
          if (t.server.unsentBytesPerSession.some((n) => n > MAX_UNSENT_REPLY_BYTES)) heldBack += 1;
          for (const command of commands) {
            const reply = await conn.frame(10_000);
            checkResponse(reply);
            if (command.kind === 'get') {
              expect(reply).toMatchObject({ code: 200, offset: command.offset, size: PIPE_BYTES });
              const payload = await conn.bytes(PIPE_BYTES - command.offset, 10_000);
              if (!payload.equals(content.subarray(command.offset))) throw new Error(`GET at ${command.offset}: wrong bytes`);
              expect(await conn.frame(10_000)).toMatchObject({ type: 'transfer', code: 226, bytes: PIPE_BYTES - command.offset });
            } else if (command.kind === 'stat') {
              if (command.name === 'missing.txt') expect(reply).toMatchObject({ code: 404 });
              else expect(reply).toMatchObject({ code: 200, file: { name: path.posix.basename(command.name) } });
            } else if (command.kind === 'ls') {
              expect(reply).toMatchObject({ code: 200 });
              const names = (reply.files as Array<{ name: string }>).map((f) => f.name);
              expect(names).toContain(command.path === 'dir' ? 'b.txt' : 'pipe.bin');
            } else {
              expect(reply).toMatchObject({ code: 400 });
            }
          }
          // Nothing extra: the next answer is the sentinel's.
          expect(await conn.request('STAT', { filename: SENTINEL })).toMatchObject({ code: 200, file: { name: SENTINEL } });
        } finally {
          conn.close();
        }
        await expectServerHealthy(t, outsideBefore);
      }),
      {
        // A fixed number of runs and no time limit: an interrupted case would
        // count as passed, and would go on in the background into the next test.
        numRuns: runs(8),
        // One case that surely fills the bound: 200 GETs of 64 KiB.
        examples: [[Array.from({ length: 200 }, (_, i) => ({ kind: 'get' as const, offset: i }))]],
      },
    );
    // The example alone holds the server back; the property is about that case.
    console.log(`pipelining: ${cases} cases, ${heldBack} of them held back by the unsent-answer bound`);
    expect(cases).toBeGreaterThanOrEqual(runs(8));
    expect(heldBack).toBeGreaterThanOrEqual(1);
  });
});

describe('paths through symlinks that leave the root', () => {
  it('gets 403 from every command, existing target or not, and nothing outside changes', async () => {
    await seedRoot(t);
    const { conn } = await RawConnection.open(t.port);
    const failures: string[] = [];
    try {
      for (const name of Object.keys(PATH_FIELDS)) {
        for (const escaping of ESCAPING_PATHS) {
          for (const which of PATH_FIELDS[name].length === 2 ? ([0, 1] as const) : ([0] as const)) {
            const request = pathCommand(name, escaping, which);
            const reply = await conn.request(name, request);
            checkResponse(reply);
            if (reply.code !== 403) failures.push(`${JSON.stringify(request)} -> ${String(reply.code)} ${String(reply.message)}`);
          }
        }
      }
      await expectInStep(conn);
    } finally {
      conn.close();
    }
    expect(failures).toEqual([]);
    await expectServerHealthy(t, outsideBefore);
  });
});

describe('length prefixes at the limits', () => {
  it.each([
    ['0', 0, 400],
    ['1', 1, 400],
    ['65,537', MAX_FRAME + 1, 413],
    ['4 GiB - 1', 0xffffffff, 413],
  ])('a prefix of %s is answered at once and the connection closed', async (_label, length, code) => {
    await withConnection(async (conn) => {
      // The prefix alone: the server must not wait for a body it will refuse.
      conn.write(frameOf(Buffer.alloc(0), length));
      expect(checkResponse(await conn.frame(2_000))).toBe(code);
      await conn.waitClosed(3_000);
    });
  });

  it.each([MAX_FRAME - 1, MAX_FRAME])('a whole frame of %i bytes is read as one frame and the connection goes on', async (length) => {
    await withConnection(async (conn) => {
      const command = Buffer.from(JSON.stringify({ type: 'command', command: 'STAT', filename: 'a.txt' }));
      const body = Buffer.concat([command, Buffer.alloc(length - command.length, 0x20)]);
      conn.write(frameOf(body));
      expect(await conn.frame()).toMatchObject({ code: 200, file: { name: 'a.txt' } });
      await expectInStep(conn);
    });
  });
});

describe('after the fuzzing', () => {
  it('leaves no session behind (none hung on the server side)', async () => {
    // A closing session may wait up to 5 s for a silent peer's FIN; none may outlive that.
    const deadline = Date.now() + 8_000;
    while (t.server.activeSessions > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.server.activeSessions).toBe(0);
  });
});
