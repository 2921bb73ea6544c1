/**
 * fast-check generators for hostile input: paths, command frames (valid,
 * mutated, wrongly typed) and raw byte streams with awkward length prefixes.
 * They know nothing about sockets; `fuzz-driver.ts` sends what they make.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';

/** The contract's client frame limit (§1). */
export const MAX_FRAME = 65_536;

/** Uploads above this get `413` from the fuzz server, so every `150` is cheap to honour. */
export const FUZZ_MAX_UPLOAD = 256 * 1024;

/** Every command the contract names, AUTH included (this server does not offer it). */
export const COMMAND_NAMES = ['LS', 'GET', 'PUT', 'QUIT', 'DELETE', 'MKDIR', 'RMDIR', 'RENAME', 'STAT', 'AUTH'] as const;

/** The one field that names a path, per command (RENAME has two). */
export const PATH_FIELDS: Record<string, readonly string[]> = {
  LS: ['path'],
  GET: ['filename'],
  PUT: ['filename'],
  DELETE: ['filename'],
  MKDIR: ['path'],
  RMDIR: ['path'],
  RENAME: ['from', 'to'],
  STAT: ['filename'],
};

/** Payload bytes the driver sends after a `150`: deterministic, so a right `sha256` can be precomputed. */
export function uploadPayload(size: number): Buffer {
  return Buffer.alloc(size, 0x78);
}

const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp));

/** Parts chosen to probe the path rules; the fixture's names are among them so commands hit real entries. */
const hostilePart = fc.constantFrom(
  '..', '.', '', '\\', '..\\..', 'a\0b', '\0', '~', '%2e%2e', '$HOME', 'CON', ' ', '...',
  'a.txt', 'dir', 'escape', 'leak.txt', 'dangling', 'loop', 'dir/b.txt', 'outside', 'secret.txt', 'missing.txt',
  '.ftp-upload-0123456789abcdef.tmp', 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(128), '\u{1F600}'.repeat(64), '\ud800',
);

const part = fc.oneof(
  { weight: 3, arbitrary: hostilePart },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: anyCodePoint, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }) },
);

/** Paths that leave the root, lexically or through the fixture's symlinks. */
export const ESCAPING_PATHS = [
  'escape', 'escape/', '/escape', 'escape/secret.txt', 'escape/new.txt', 'escape/sub/new.txt', 'leak.txt', '/leak.txt',
  'dangling', 'dangling/x', 'loop', 'loop/x',
] as const;

/** Paths the contract refuses with `400` (§3). */
export const invalidPathArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', '..', '.', '../outside', '../outside/secret.txt', '/../../etc/passwd', 'dir/../a.txt', './a.txt', 'a\\b',
    '\\..\\outside', 'a\0', '\0', 'dir\0/b.txt', 'x'.repeat(256), `dir/${'é'.repeat(128)}`, 'a/'.repeat(2049),
    'b'.repeat(4097), '\ud800', 'a\udc00b',
  ),
  fc.tuple(fc.array(part, { maxLength: 3 }), fc.constantFrom('..', '.', '\0', '\\', '\ud800'), fc.array(part, { maxLength: 3 }))
    .map(([before, bad, after]) => [...before, bad, ...after].join('/')),
);

/** Any path at all: mostly hostile, sometimes plain, sometimes enormous. */
export const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.boolean(), fc.array(part, { maxLength: 5 })).map(([lead, parts]) => (lead ? '/' : '') + parts.join('/')) },
  { weight: 1, arbitrary: invalidPathArb },
  { weight: 1, arbitrary: fc.constantFrom(...ESCAPING_PATHS) },
  { weight: 6, arbitrary: fc.constantFrom('/', '//', 'a.txt', '/a.txt', 'dir', 'dir/b.txt', 'new.txt', 'dir/new', 'dir/new/x') },
  // Long paths: one huge part; 15 parts of 255 bytes (3,839 bytes, allowed); 17 such parts (too long).
  { weight: 1, arbitrary: fc.constantFrom('b'.repeat(5000), Array(15).fill('c'.repeat(255)).join('/'), Array(17).fill('d'.repeat(255)).join('/')) },
);

/** A field value: a path most of the time, anything JSON can carry otherwise. */
const fieldArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: pathArb },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2, maxKeys: 3 }) },
);

const numberFieldArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 8 }) },
  { weight: 2, arbitrary: fc.nat({ max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: FUZZ_MAX_UPLOAD - 2, max: FUZZ_MAX_UPLOAD + 2 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(-1, -0, 0.5, 1e300, 2 ** 53, Number.MAX_SAFE_INTEGER, 10 * 1024 ** 4, '5', '', null, true, [], {}),
  },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);

const commandNameArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...COMMAND_NAMES) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...COMMAND_NAMES), fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }))
      .map(([name, upper]) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('')),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' LS', 'LS ', 'L\0S', 'GET\n', '__proto__', 'constructor', 'toString') },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);

const typeArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('command') },
  { weight: 1, arbitrary: fc.constantFrom('COMMAND', 'response', 'connection', 'transfer', '', undefined) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);

/** A command object: valid more often than not, with random and wrongly typed fields. */
export const commandArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      type: typeArb,
      command: commandNameArb,
      path: fieldArb,
      filename: fieldArb,
      from: fieldArb,
      to: fieldArb,
      offset: numberFieldArb,
      size: numberFieldArb,
      sha256: fc.oneof(
        fc.constantFrom('right', 'RIGHT'),
        fc.stringMatching(/^[0-9a-f]{64}$/),
        fc.constantFrom('', 'z'.repeat(64), 'a'.repeat(63)),
        fc.anything({ maxDepth: 1 }),
      ),
      extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
    },
    { requiredKeys: ['type', 'command'] },
  )
  .map(({ extra, ...fields }) => {
    const message: Record<string, unknown> = { ...extra, ...fields };
    // 'right' stands for the digest of the bytes the driver will send, in either case.
    if (message.sha256 === 'right' || message.sha256 === 'RIGHT') {
      const size = message.size;
      const ok = typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 && size <= FUZZ_MAX_UPLOAD;
      const digest = createHash('sha256').update(uploadPayload(ok ? size : 0)).digest('hex');
      message.sha256 = message.sha256 === 'RIGHT' ? digest.toUpperCase() : digest;
    }
    return message;
  });

/** A name the contract accepts: unicode welcome, no `/`, NUL, backslash, `.` or `..`. */
const saneName = fc.oneof(
  fc.constantFrom('a.txt', 'dir', 'new.txt', 'x', 'é.txt', '\u{1F600}', ' spaced name ', '.hidden'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((n) => !/[\/\\\0]/.test(n) && n !== '.' && n !== '..'),
);
const sanePath = fc.oneof(
  { weight: 3, arbitrary: fc.array(saneName, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')) },
  { weight: 4, arbitrary: fc.constantFrom('a.txt', 'dir/b.txt', 'new.txt', 'dir', '/', 'dir/new', 'dir/new/deeper.txt') },
  { weight: 1, arbitrary: fc.constantFrom(...ESCAPING_PATHS) },
);
const sha256Field = (size: number) => fc.constantFrom<'none' | 'right' | 'wrong'>('none', 'right', 'wrong').map((kind) => {
  if (kind === 'none') return {};
  const digest = createHash('sha256').update(uploadPayload(kind === 'right' ? size : size + 1)).digest('hex');
  return { sha256: digest };
});

/** Fixture entries that are, or hold, a symlink that leads elsewhere when moved (see `seedRoot`). */
export const MOVABLE_LINKS = ['dir/hop', 'dir', 'hop', 'nest/dir/hop', 'nest/dir', 'nest'] as const;
const linkDestination = fc.constantFrom('hop', 'x', 'dir/hop2', 'outside/hop', 'nest', 'nest/dir', 'nest/dir/hop', 'a.txt', 'dir/b.txt');

/** Well-formed commands that do real work, so sequences create, move, read and delete files. */
export const wellFormedCommandArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 4, arbitrary: fc.option(sanePath, { nil: undefined }).map((p) => ({ command: 'LS', ...(p === undefined ? {} : { path: p }) })) },
  { weight: 6, arbitrary: fc.record({ command: fc.constant('GET'), filename: sanePath, offset: fc.nat({ max: 6 }) }) },
  {
    weight: 6,
    arbitrary: fc.tuple(sanePath, fc.oneof(fc.nat({ max: 64 }), fc.nat({ max: FUZZ_MAX_UPLOAD + 1 }))).chain(([filename, size]) =>
      sha256Field(size).map((digest) => ({ command: 'PUT', filename, size, ...digest })),
    ),
  },
  { weight: 2, arbitrary: sanePath.map((filename) => ({ command: 'DELETE', filename })) },
  { weight: 2, arbitrary: sanePath.map((path) => ({ command: 'MKDIR', path })) },
  { weight: 2, arbitrary: sanePath.map((path) => ({ command: 'RMDIR', path })) },
  { weight: 3, arbitrary: fc.record({ command: fc.constant('RENAME'), from: sanePath, to: sanePath }) },
  // Moving the fixture's `dir/hop` (inside while it lies in dir, outside at the
  // root) and folders holding it: the escaping moves must all be refused.
  { weight: 2, arbitrary: fc.record({ command: fc.constant('RENAME'), from: fc.constantFrom(...MOVABLE_LINKS), to: linkDestination }) },
  { weight: 2, arbitrary: sanePath.map((filename) => ({ command: 'STAT', filename })) },
  { weight: 1, arbitrary: fc.constant({ command: 'QUIT' }) },
).map((fields) => ({ type: 'command', ...fields }));

/** Prefix a body with its 4-byte big-endian length. */
export function frameOf(body: Buffer, declaredLength = body.length): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(declaredLength >>> 0);
  return Buffer.concat([prefix, body]);
}

/** A frame body: a command encoded as is, or with bytes flipped, cut, or padded. */
export const frameBodyArb: fc.Arbitrary<Buffer> = fc.oneof(commandArb, wellFormedCommandArb).chain((message) => {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(body) },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }).map((flips) => {
        const copy = Buffer.from(body);
        for (const [at, byte] of flips) copy[at % copy.length] = byte;
        return copy;
      }),
    },
    { weight: 1, arbitrary: fc.nat().map((cut) => body.subarray(0, cut % (body.length + 1))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((tail) => Buffer.concat([body, Buffer.from(tail)])) },
  );
});

/** Commands that never carry a payload or end the session, for streams whose answers a model predicts. */
const PLAIN_COMMANDS = ['LS', 'STAT', 'MKDIR', 'RMDIR', 'DELETE', 'RENAME', 'AUTH', 'NOOP'];

/** One piece of a raw stream: whole frames, broken prefixes, or plain noise. */
const segmentArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.json({ maxDepth: 2 }).map((text) => frameOf(Buffer.from(text))) },
  {
    weight: 3,
    arbitrary: fc.tuple(commandArb, fc.constantFrom(...PLAIN_COMMANDS)).map(([message, name]) =>
      frameOf(Buffer.from(JSON.stringify({ ...message, type: 'command', command: name }))),
    ),
  },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 2, maxLength: 200 }).map((bytes) => frameOf(Buffer.from(bytes))) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.oneof(fc.constantFrom(0, 1, 2, MAX_FRAME - 1, MAX_FRAME, MAX_FRAME + 1, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
      fc.uint8Array({ maxLength: 32 }),
    ).map(([length, bytes]) => frameOf(Buffer.from(bytes), length)),
  },
  { weight: 1, arbitrary: fc.constantFrom(MAX_FRAME - 1, MAX_FRAME).map((n) => frameOf(Buffer.alloc(n, 0x20))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
);

/** A byte stream made of segments, and the points at which it is split into writes. */
export const rawStreamArb: fc.Arbitrary<{ bytes: Buffer; cuts: number[] }> = fc.record({
  bytes: fc.array(segmentArb, { minLength: 1, maxLength: 6 }).map((parts) => Buffer.concat(parts)),
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
});
