/**
 * The native command runner without a socket: a fake session records what
 * the runner sends, ends or notes; commands are scripted handlers declaring
 * the flags the runner checks. Covers lookup, the login and permission
 * checks, and every failure class: its reply code, and the level and text
 * of its log line.
 */
import type { Socket } from 'node:net';
import { AUTH_ERROR_KINDS, AuthError } from '../../src/auth/errors';
import { DEFAULT_LIMITS } from '../../src/config/defaults';
import type { Authenticator, Permission, Principal } from '../../src/core/access';
import { TRANSFER_ERROR_KINDS, TransferAbortedError, TransferError } from '../../src/core/errors';
import type { ServerObserver } from '../../src/core/observer';
import type { TransferService } from '../../src/core/transfers';
import { MemoryLog, type RecordedLine } from '../../src/logging/log';
import { LogThrottle } from '../../src/logging/throttle';
import { BadRequestError, ProtocolError } from '../../src/protocol/errors';
import { runCommand } from '../../src/server/command-runner';
import { CommandRegistry } from '../../src/server/commands';
import type { CommandContext, CommandHandler, Reply, SessionChannel } from '../../src/server/commands/command';
import { fieldForLog } from '../../src/server/commands/command';
import type { NativeSession } from '../../src/server/native-session';
import { AUTH_CODES, STORAGE_CODES, TRANSFER_CODES } from '../../src/server/replies';
import type { SessionDeps } from '../../src/server/session-deps';
import { STORAGE_ERROR_KINDS, StorageError } from '../../src/storage/errors';
import type { Storage } from '../../src/storage/storage';
import { FakeClock } from '../../src/util/clock';

/** A storage no test reads from: only its identity matters (which view a command got). */
const fakeStorage = (label: string): Storage => ({ label }) as unknown as Storage;
const GUEST = fakeStorage('guest');
const HOME = fakeStorage('home');
const TRANSFERS = { label: 'transfers' } as unknown as TransferService;

/** What a command does when run: reply, throw, or look at its context. */
type Behaviour = (context: CommandContext) => Promise<Reply | void>;

/** A command declaring the runner's flags, whose behaviour each test sets. */
function command(name: string, flags: { permission?: Permission; public?: boolean } = {}): CommandHandler & { behaviour: Behaviour } {
  const handler = {
    name,
    syntax: 'filename',
    description: `test ${name}`,
    ...flags,
    behaviour: (async () => ({ code: 200, message: 'OK' })) as Behaviour,
    target: (fields: Record<string, unknown>) => fieldForLog(fields, 'filename'),
    run: (context: CommandContext) => handler.behaviour(context),
  };
  return handler;
}

interface ObservedCommand {
  name: string;
  code: number;
  durationMs: number;
  protocol: string;
}

/** Everything the runner did to the session, in order. */
type Effect =
  | { sent: object }
  | { error: { code: number; message: string } }
  | { invalid: { code: number; message: string } }
  | { aborted: string }
  | { noted: string }
  | 'cork'
  | 'uncork';

class FakeSession implements NativeSession {
  readonly remote = '127.0.0.1:40000';
  readonly ip = '127.0.0.1';
  principal: Principal | undefined;
  readonly effects: Effect[] = [];
  readonly socket: Socket;
  readonly channel: SessionChannel = {
    send: (message) => this.effects.push({ sent: message }),
    sendDownload: () => Promise.reject(new Error('not in these tests')),
    receiveUpload: () => Promise.reject(new Error('not in these tests')),
    endAfterReply: () => {},
  };

  constructor(
    readonly deps: SessionDeps,
    readonly log: MemoryLog,
    socketDestroyed = false,
  ) {
    this.socket = { destroyed: socketDestroyed, cork: () => this.effects.push('cork') } as unknown as Socket;
  }

  login(principal: Principal): void {
    this.principal = principal;
  }
  send(message: object): void {
    this.effects.push({ sent: message });
  }
  sendError(error: ProtocolError): void {
    this.effects.push({ error: { code: error.code, message: error.message } });
  }
  rejectInvalid(error: ProtocolError): void {
    this.effects.push({ invalid: { code: error.code, message: error.message } });
  }
  abort(reason: string): void {
    this.effects.push({ aborted: reason });
  }
  noteReason(reason: string): void {
    this.effects.push({ noted: reason });
  }
  uncork(): void {
    this.effects.push('uncork');
  }
}

interface Rig {
  session: FakeSession;
  lines: RecordedLine[];
  observed: ObservedCommand[];
  clock: FakeClock;
  run(message: Record<string, unknown>): Promise<void>;
}

/**
 * A session over `commands`. `accounts`: `required` makes commands need a
 * login (as with a users file); `optional` is anonymous access.
 */
function rig(commands: CommandHandler[], options: { accounts?: 'required' | 'optional'; socketDestroyed?: boolean } = {}): Rig {
  const clock = new FakeClock();
  const log = new MemoryLog();
  const observed: ObservedCommand[] = [];
  const observer: ServerObserver = { command: (name, code, durationMs, protocol) => observed.push({ name, code, durationMs, protocol }) };
  const authenticator: Authenticator | undefined = options.accounts && {
    required: options.accounts === 'required',
    login: () => Promise.reject(new Error('not in these tests')),
  };
  const deps: SessionDeps = {
    storage: GUEST,
    log,
    limits: { ...DEFAULT_LIMITS },
    clock,
    commands: new CommandRegistry(commands),
    transfers: TRANSFERS,
    throttle: new LogThrottle(clock),
    greeting: Buffer.alloc(0),
    authenticator,
    observer,
  };
  const session = new FakeSession(deps, log.child('Client-127.0.0.1:40000') as MemoryLog, options.socketDestroyed);
  return { session, lines: log.lines, observed, clock, run: (message) => runCommand(session, message) };
}

const asUser = (permissions: Permission[]): Principal => ({ name: 'alice', permissions: new Set(permissions), storage: HOME });
const line = (level: RecordedLine['level'], message: string): RecordedLine => ({ level, label: 'Client-127.0.0.1:40000', message });

describe('lookup', () => {
  it('runs the named command, case-insensitively, logs it with its target and sends its reply', async () => {
    const stat = command('STAT');
    stat.behaviour = async ({ fields }) => ({ code: 200, message: 'OK', file: { name: fields.filename } });
    const r = rig([stat]);
    await r.run({ type: 'command', command: 'sTaT', filename: 'a.txt' });
    expect(r.session.effects).toEqual(['cork', { sent: { type: 'response', code: 200, message: 'OK', file: { name: 'a.txt' } } }, 'uncork']);
    expect(r.lines).toEqual([line('INFO', 'Command: STAT a.txt')]);
    expect(r.observed).toEqual([{ name: 'STAT', code: 200, durationMs: 0, protocol: 'native' }]);
  });

  it('answers an unknown command as an invalid frame (400), with no command line logged', async () => {
    const r = rig([command('STAT')]);
    await r.run({ type: 'command', command: 'FROB\n', filename: 'a.txt' });
    expect(r.session.effects).toEqual(['cork', { invalid: { code: 400, message: 'Unknown command: FROB?' } }, 'uncork']);
    expect(r.lines).toEqual([]);
    expect(r.observed).toEqual([{ name: 'INVALID', code: 400, durationMs: 0, protocol: 'native' }]);
  });

  it.each([
    [{ type: 'response', command: 'STAT' }, "Unknown message type: 'response'"],
    [{ command: 'STAT' }, 'Unknown message type: missing'],
    [{ type: 'command' }, "Missing or invalid field 'command'"],
    [{ type: 'command', command: 7 }, "Missing or invalid field 'command'"],
  ])('answers %j as an invalid frame: %s', async (message, text) => {
    const stat = command('STAT');
    let ran = false;
    stat.behaviour = async () => {
      ran = true;
    };
    const r = rig([stat]);
    await r.run(message);
    expect(r.session.effects).toEqual(['cork', { invalid: { code: 400, message: text } }, 'uncork']);
    expect(ran).toBe(false);
    expect(r.observed).toEqual([expect.objectContaining({ name: 'INVALID', code: 400 })]);
  });

  it('hands the command its context: fields, the guest view before login, the shared services', async () => {
    const stat = command('STAT');
    let seen: CommandContext | undefined;
    stat.behaviour = async (context) => {
      seen = context;
      return { code: 200, message: 'OK' };
    };
    const r = rig([stat]);
    await r.run({ type: 'command', command: 'STAT', filename: 'x' });
    expect(seen).toMatchObject({ fields: { command: 'STAT', filename: 'x' }, limits: r.session.deps.limits, clock: r.clock, log: r.session.log });
    expect(seen!.storage).toBe(GUEST);
    expect(seen!.transfers).toBe(TRANSFERS);
    expect(seen!.channel).toBe(r.session.channel);
    expect(seen!.session).toBe(r.session);
    expect(seen!.authenticator).toBeUndefined();
  });

  it('reports to the observer how long the command took, on the injected clock, and the code it answered', async () => {
    const slow = command('GET');
    slow.behaviour = async ({ clock, channel }) => {
      (clock as FakeClock).advance(250);
      channel.send({ type: 'response', code: 200, message: 'OK' });
    };
    const r = rig([slow]);
    await r.run({ type: 'command', command: 'GET', filename: 'big.bin' });
    // A command that answered on its channel (GET, PUT) counts as 200.
    expect(r.observed).toEqual([{ name: 'GET', code: 200, durationMs: 250, protocol: 'native' }]);
    expect(r.session.effects).toEqual(['cork', { sent: { type: 'response', code: 200, message: 'OK' } }, 'uncork']);
  });
});

describe('login and permissions, from the declared flags', () => {
  it('answers 401 before login when accounts are required, and runs public commands anyway', async () => {
    const stat = command('STAT', { permission: 'read' });
    const quit = command('QUIT', { public: true });
    let ran = 0;
    stat.behaviour = async () => {
      ran += 1;
      return { code: 200, message: 'OK' };
    };
    const r = rig([stat, quit], { accounts: 'required' });
    await r.run({ type: 'command', command: 'STAT', filename: 'a.txt' });
    await r.run({ type: 'command', command: 'QUIT' });
    expect(ran).toBe(0);
    expect(r.session.effects).toEqual([
      'cork', { error: { code: 401, message: 'Authentication required: send AUTH first' } }, 'uncork',
      'cork', { sent: { type: 'response', code: 200, message: 'OK' } }, 'uncork',
    ]);
    expect(r.lines).toEqual([
      line('INFO', 'Command: STAT a.txt'),
      line('WARNING', 'STAT: Authentication required: send AUTH first - a.txt'),
      line('INFO', 'Command: QUIT'),
    ]);
    expect(r.observed.map((o) => [o.name, o.code])).toEqual([['STAT', 401], ['QUIT', 200]]);
  });

  it('lets anyone run commands when accounts are optional (anonymous access), on the guest view', async () => {
    const stat = command('STAT', { permission: 'read' });
    let storage: Storage | undefined;
    stat.behaviour = async (context) => {
      storage = context.storage;
      return { code: 200, message: 'OK' };
    };
    const r = rig([stat], { accounts: 'optional' });
    await r.run({ type: 'command', command: 'STAT', filename: 'a.txt' });
    expect(storage).toBe(GUEST);
    expect(r.observed.map((o) => o.code)).toEqual([200]);
  });

  it('answers 403 naming the missing permission, and runs commands the user may run on their own view', async () => {
    const put = command('PUT', { permission: 'write' });
    const stat = command('STAT', { permission: 'read' });
    const quit = command('QUIT', { public: true });
    const storages: Storage[] = [];
    for (const c of [put, stat, quit]) {
      c.behaviour = async (context) => {
        storages.push(context.storage);
        return { code: 200, message: 'OK' };
      };
    }
    const r = rig([put, stat, quit], { accounts: 'required' });
    r.session.login(asUser(['read']));
    await r.run({ type: 'command', command: 'PUT', filename: 'new.txt' });
    await r.run({ type: 'command', command: 'STAT', filename: 'new.txt' });
    await r.run({ type: 'command', command: 'QUIT' });
    expect(r.session.effects.filter((e) => typeof e === 'object')).toEqual([
      { error: { code: 403, message: 'Permission denied: write is not allowed for this user' } },
      { sent: { type: 'response', code: 200, message: 'OK' } },
      { sent: { type: 'response', code: 200, message: 'OK' } },
    ]);
    expect(storages).toEqual([HOME, HOME]);
    expect(r.lines).toContainEqual(line('WARNING', 'PUT: Permission denied: write is not allowed for this user - new.txt'));
  });

  it('checks the permission of a logged-in user even when accounts are optional', async () => {
    const del = command('DELETE', { permission: 'delete' });
    const r = rig([del], { accounts: 'optional' });
    r.session.login(asUser(['read', 'write']));
    await r.run({ type: 'command', command: 'DELETE', filename: 'a.txt' });
    expect(r.session.effects).toContainEqual({ error: { code: 403, message: 'Permission denied: delete is not allowed for this user' } });
  });
});

describe('failures: one reply and one log line each', () => {
  /** Run STAT (or `name`) throwing `err`; returns what was answered and logged after the command line. */
  async function failWith(err: Error, name = 'STAT') {
    const handler = command(name);
    handler.behaviour = () => Promise.reject(err);
    const r = rig([handler]);
    await r.run({ type: 'command', command: name, filename: 'a.txt' });
    const answers = r.session.effects.filter((e) => typeof e === 'object');
    return { answers, lines: r.lines.slice(1), observed: r.observed, rig: r };
  }

  const storageCases = STORAGE_ERROR_KINDS.map((kind) => [kind] as const);
  it.each(storageCases)('StorageError %s: its code from the table, WARNING below 500 and ERROR from 500', async (kind) => {
    const { answers, lines, observed } = await failWith(new StorageError(kind, `Message of ${kind}`, { cause: new Error('disk detail') }));
    const code = STORAGE_CODES[kind];
    // io is opaque: the client learns nothing, the log gets the cause.
    const message = kind === 'io' ? 'Internal server error' : `Message of ${kind}`;
    expect(answers).toEqual([{ error: { code, message } }]);
    expect(observed.map((o) => o.code)).toEqual([code]);
    if (kind === 'io') expect(lines).toEqual([line('ERROR', 'STAT: Internal error - a.txt (disk detail)')]);
    else if (code >= 500) expect(lines).toEqual([line('ERROR', `STAT: Message of ${kind} - a.txt`)]);
    else if (code === 404) expect(lines).toEqual([line('WARNING', 'STAT: Not found - a.txt')]);
    else expect(lines).toEqual([line('WARNING', `STAT: Message of ${kind} - a.txt`)]);
  });

  it('says "File not found" for a GET, "Not found" for other commands', async () => {
    expect((await failWith(new StorageError('not_found', 'Not found'), 'GET')).lines).toEqual([line('WARNING', 'GET: File not found - a.txt')]);
    expect((await failWith(new StorageError('not_found', 'Not found'), 'DELETE')).lines).toEqual([line('WARNING', 'DELETE: Not found - a.txt')]);
  });

  it.each(AUTH_ERROR_KINDS.map((kind) => [kind] as const))('AuthError %s: its code, WARNING below 500 and ERROR from 500', async (kind) => {
    const { answers, lines } = await failWith(new AuthError(kind, `Auth says ${kind}`), 'AUTH');
    const code = AUTH_CODES[kind];
    expect(answers).toEqual([{ error: { code, message: `Auth says ${kind}` } }]);
    expect(lines).toEqual([line(code >= 500 ? 'ERROR' : 'WARNING', `AUTH: Auth says ${kind} - a.txt`)]);
  });

  it.each(TRANSFER_ERROR_KINDS.map((kind) => [kind] as const))('TransferError %s: its code, logged as a WARNING', async (kind) => {
    const { answers, lines } = await failWith(new TransferError(kind, `Transfer says ${kind}`), 'PUT');
    expect(answers).toEqual([{ error: { code: TRANSFER_CODES[kind], message: `Transfer says ${kind}` } }]);
    expect(lines).toEqual([line('WARNING', `PUT: Transfer says ${kind} - a.txt`)]);
  });

  it('passes a ProtocolError through with its own code', async () => {
    const bad = await failWith(new BadRequestError("Missing or invalid field 'filename'"));
    expect(bad.answers).toEqual([{ error: { code: 400, message: "Missing or invalid field 'filename'" } }]);
    expect(bad.lines).toEqual([line('WARNING', "STAT: Missing or invalid field 'filename' - a.txt")]);
    const full = await failWith(new ProtocolError(507, 'No room'));
    expect(full.lines).toEqual([line('ERROR', 'STAT: No room - a.txt')]);
  });

  it('answers a bug with a bare 500 and logs it with its detail', async () => {
    const { answers, lines, observed } = await failWith(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(answers).toEqual([{ error: { code: 500, message: 'Internal server error' } }]);
    expect(lines).toEqual([line('ERROR', "STAT: Internal error - a.txt (Cannot read properties of undefined (reading 'x'))")]);
    expect(observed.map((o) => o.code)).toEqual([500]);
  });

  it('says "out of file descriptors" once per interval, with a count of the lines held back, and answers 500 each time', async () => {
    const handler = command('GET');
    handler.behaviour = () => Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    const r = rig([handler]);
    for (let i = 0; i < 3; i++) await r.run({ type: 'command', command: 'GET', filename: 'a.txt' });
    r.clock.advance(10_000);
    await r.run({ type: 'command', command: 'GET', filename: 'a.txt' });
    expect(r.session.effects.filter((e) => typeof e === 'object')).toEqual(Array(4).fill({ error: { code: 500, message: 'Internal server error' } }));
    expect(r.lines.filter((l) => l.level !== 'INFO')).toEqual([
      line('ERROR', 'GET: Out of file descriptors; answering 500 until some close'),
      line('ERROR', 'GET: Out of file descriptors; answering 500 until some close (2 similar lines suppressed)'),
    ]);
  });

  it('ends the connection without a reply when a payload is cut (TransferAbortedError), and counts code 0', async () => {
    const { answers, lines, observed } = await failWith(new TransferAbortedError('peer closed the connection', 1_000), 'PUT');
    expect(answers).toEqual([{ aborted: 'PUT aborted: peer closed the connection' }]);
    expect(lines).toEqual([]);
    expect(observed.map((o) => o.code)).toEqual([0]);
  });

  it('only notes why, when the socket is gone already', async () => {
    const handler = command('GET');
    handler.behaviour = () => Promise.reject(new TransferAbortedError('connection reset', 10));
    const r = rig([handler], { socketDestroyed: true });
    await r.run({ type: 'command', command: 'GET', filename: 'a.txt' });
    expect(r.session.effects).toEqual(['cork', { noted: 'GET aborted: connection reset' }, 'uncork']);
  });

  it('uncorks and reports exactly once whatever happened', async () => {
    for (const err of [new StorageError('io', 'x'), new TransferAbortedError('gone', 0), new Error('bug')]) {
      const { rig: r } = await failWith(err);
      expect(r.session.effects.filter((e) => e === 'uncork')).toHaveLength(1);
      expect(r.session.effects.at(-1)).toBe('uncork');
      expect(r.observed).toHaveLength(1);
    }
  });
});
