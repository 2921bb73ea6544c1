/**
 * The FTP control channel's line decoder: sans-I/O, fed `Buffer` chunks in
 * any split, it yields command lines and the few Telnet events FTP uses.
 *
 * The control connection is a Telnet NVT stream (RFC 959 §4, RFC 854), so the
 * bytes are read in three layers, all here:
 *
 * - Telnet: `IAC IAC` is a literal 0xFF; `IAC WILL|WONT|DO|DONT <opt>` is
 *   dropped (FTP never negotiates options: RFC 1123 §4.1.2.12); `IAC SB … IAC
 *   SE` is dropped; `IAC IP` and `IAC DM` come out as events, because a client
 *   aborting a transfer sends `IAC IP IAC DM ABOR`; any other command
 *   `IAC x` is dropped, and an IAC before a byte that is no command is
 *   dropped alone (its command byte was lost as urgent data).
 * - Lines: `CR LF` ends a line, and so does a bare `LF` (many clients and
 *   scripts send one). `CR NUL` is a literal CR inside the line, as RFC 2640
 *   §3.1 prescribes for a pathname holding a CR. Any other byte after a CR
 *   keeps the CR as data, as vsftpd does: the NVT forbids the pair, and
 *   dropping bytes a client meant would be worse than passing them to the
 *   path rules, which judge names.
 * - Text: a finished line is strict UTF-8 (RFC 2640, RFC 3659 §2.2) or it is
 *   reported as `bad_encoding`; no Latin-1 guessing, so a name never aliases
 *   another one.
 *
 * Memory stays bounded whatever the peer sends: the caller pushes a chunk only
 * when {@link LineDecoder.next} returned `null` (as with the frame decoder),
 * so at most one chunk plus one line of {@link MAX_LINE_BYTES} is held. A
 * longer line is discarded as it streams in and reported once, as
 * `too_long`, when its end arrives; decoding goes on with the next line.
 */
import { isUtf8 } from 'node:buffer';

/**
 * Longest command line kept, in bytes after Telnet decoding and without the
 * line end. A path may be 4,096 UTF-8 bytes (the storage limit) and `RNTO `,
 * `MFMT 20240101000000 ` or `SITE …` come in front of it; 8 KiB leaves room
 * for every real command while bounding what a hostile peer can park here.
 */
export const MAX_LINE_BYTES = 8192;

/** The Telnet commands FTP gives a meaning to (RFC 959 §4.1.3, ABOR). */
export type TelnetEvent = 'IP' | 'DM';

/** One thing decoded from the control stream. */
export type DecodedLine =
  /** A whole command line, UTF-8 decoded, without its line end. */
  | { kind: 'line'; line: string }
  /** A line longer than {@link MAX_LINE_BYTES}; `bytes` of it were discarded. */
  | { kind: 'too_long'; bytes: number }
  /** A line of acceptable length that is not valid UTF-8 (answer 501). */
  | { kind: 'bad_encoding'; bytes: number }
  /** Telnet Interrupt Process or Data Mark, in stream order with the lines. */
  | { kind: 'telnet'; command: TelnetEvent };

const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;
const IAC = 0xff;
const DONT = 0xfe;
const WILL = 0xfb;
const SB = 0xfa;
const DM = 0xf2;
const IP = 0xf4;
const SE = 0xf0;
/** EOF (RFC 1184), the lowest Telnet command code. */
const FIRST_COMMAND = 0xec;

const ABOR = Buffer.from('ABOR');

const enum State {
  Data,
  /** After a CR in data: LF ends the line, NUL makes the CR literal. */
  Cr,
  /** After IAC. */
  Iac,
  /** After IAC WILL/WONT/DO/DONT: the next byte is the option, dropped. */
  Option,
  /** Inside IAC SB …: dropped up to IAC SE. */
  Sub,
  /** After IAC inside a subnegotiation. */
  SubIac,
}

/** How large the line buffer starts; it doubles up to {@link MAX_LINE_BYTES}. */
const INITIAL_LINE_CAPACITY = 256;

/**
 * Decodes the control stream of one FTP session. Pull-based: {@link push} a
 * chunk, then call {@link next} until it returns `null`, then push the next.
 */
export class LineDecoder {
  private chunks: Buffer[] = [];
  private offset = 0;
  private unread = 0;

  private state = State.Data;
  // Most sessions send short commands: start small, grow only when needed,
  // so a thousand idle sessions do not each hold 8 KiB.
  private line = Buffer.allocUnsafe(INITIAL_LINE_CAPACITY);
  private lineLength = 0;
  /** Bytes of the current line thrown away because it grew past the limit. */
  private discarded = 0;
  /**
   * Set after `IAC IP`: a DM byte right after it is dropped even without its
   * IAC. BSD-style clients send `IAC IP IAC` as urgent data and `DM ABOR`
   * in band; a socket without SO_OOBINLINE (Node has no way to set it) loses
   * the urgent byte, the second IAC, and a bare DM is left in the stream.
   */
  private afterInterrupt = false;
  /**
   * Set after an `ABOR` line was let out at its CR (see {@link atCr}): the LF
   * (or NUL) that completes that CR is swallowed rather than read as an empty
   * line.
   */
  private afterEarlyAbort = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /** Bytes held: unread input plus the line being assembled. Never more than one chunk plus the line limit. */
  get bufferedBytes(): number {
    return this.unread + this.lineLength;
  }

  /** True while the bytes of an over-long line are being thrown away. */
  get discarding(): boolean {
    return this.discarded > 0;
  }

  /** Hand over bytes read from the peer. Call only after {@link next} returned `null`. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.unread += chunk.length;
  }

  /** The next decoded line or event, or `null` when the pushed bytes are used up. */
  next(): DecodedLine | null {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0];
      while (this.offset < chunk.length) {
        const byte = chunk[this.offset++];
        this.unread--;
        const result = this.step(byte);
        if (result) {
          this.dropChunkIfDone(chunk);
          return result;
        }
      }
      this.dropChunkIfDone(chunk);
    }
    return null;
  }

  private dropChunkIfDone(chunk: Buffer): void {
    if (this.offset >= chunk.length && this.chunks[0] === chunk) {
      // Drop the reference at once so an idle session keeps no chunk alive.
      this.chunks.shift();
      this.offset = 0;
    }
  }

  /** Feed one byte through the Telnet and line layers. */
  private step(byte: number): DecodedLine | null {
    switch (this.state) {
      case State.Data:
        return this.atData(byte);
      case State.Cr:
        return this.afterCr(byte);
      case State.Iac:
        return this.afterIac(byte);
      case State.Option:
        this.state = State.Data;
        return null;
      case State.Sub:
        if (byte === IAC) this.state = State.SubIac;
        // A line end always resynchronises, so an unterminated SB from a
        // confused client costs it one line, not the rest of the session.
        else if (byte === LF) return this.endLine();
        return null;
      case State.SubIac:
        this.state = byte === SE ? State.Data : State.Sub;
        return null;
    }
  }

  private atData(byte: number): DecodedLine | null {
    if (this.afterEarlyAbort) {
      this.afterEarlyAbort = false;
      if (byte === LF || byte === NUL) return null;
    }
    if (byte === IAC) {
      this.state = State.Iac;
      return null;
    }
    if (this.afterInterrupt) {
      this.afterInterrupt = false;
      // Still the Data Mark, only without its IAC: report it as one.
      if (byte === DM) return { kind: 'telnet', command: 'DM' };
    }
    if (byte === LF) return this.endLine();
    if (byte === CR) return this.atCr();
    this.append(byte);
    return null;
  }

  /**
   * A CR in data. Normally wait for the next byte. One exception: a line that
   * is exactly `ABOR` is let out at once. Python's ftplib sends `ABOR\r\n`
   * as urgent data, whose last byte (the LF) a socket without SO_OOBINLINE
   * never delivers, and then waits for the reply: holding out for that LF
   * would hang the abort. `ABOR` takes no argument, so no pathname can be cut.
   */
  private atCr(): DecodedLine | null {
    if (this.discarded === 0 && this.lineLength === ABOR.length && isAbor(this.line)) {
      this.afterEarlyAbort = true;
      return this.endLine();
    }
    this.state = State.Cr;
    return null;
  }

  private afterCr(byte: number): DecodedLine | null {
    this.state = State.Data;
    if (byte === LF) return this.endLine();
    // CR NUL: a CR that belongs to the line (RFC 2640 §3.1, RFC 854).
    this.append(CR);
    if (byte === NUL) return null;
    return this.atData(byte);
  }

  private afterIac(byte: number): DecodedLine | null {
    this.state = State.Data;
    if (byte === IAC) {
      this.append(IAC);
      return null;
    }
    if (byte >= WILL && byte <= DONT) {
      this.state = State.Option;
      return null;
    }
    if (byte === SB) {
      this.state = State.Sub;
      return null;
    }
    if (byte === IP) {
      this.afterInterrupt = true;
      return { kind: 'telnet', command: 'IP' };
    }
    if (byte === DM) return { kind: 'telnet', command: 'DM' };
    // Below EOF (236) no byte is a Telnet command. Seen after IAC, it means
    // the command byte was lost: a client that sends the Synch (IAC DM) as
    // urgent data, as RFC 959 §4.1.3 describes, loses the DM to a socket
    // without SO_OOBINLINE, and the next byte is the A of ABOR. Drop the
    // IAC, keep the byte.
    if (byte < FIRST_COMMAND) return this.atData(byte);
    return null;
  }

  private append(byte: number): void {
    if (this.discarded > 0) {
      this.discarded++;
      return;
    }
    if (this.lineLength === this.maxLineBytes) {
      // Past the limit: forget what was kept and count from here on.
      this.discarded = this.lineLength + 1;
      this.lineLength = 0;
      this.line = Buffer.allocUnsafe(INITIAL_LINE_CAPACITY);
      return;
    }
    if (this.lineLength === this.line.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.line.length * 2, this.maxLineBytes));
      this.line.copy(grown, 0, 0, this.lineLength);
      this.line = grown;
    }
    this.line[this.lineLength++] = byte;
  }

  private endLine(): DecodedLine {
    this.state = State.Data;
    this.afterInterrupt = false;
    if (this.discarded > 0) {
      const bytes = this.discarded;
      this.discarded = 0;
      return { kind: 'too_long', bytes };
    }
    const bytes = this.line.subarray(0, this.lineLength);
    const length = this.lineLength;
    this.lineLength = 0;
    if (this.line.length > INITIAL_LINE_CAPACITY) this.line = Buffer.allocUnsafe(INITIAL_LINE_CAPACITY);
    if (!isUtf8(bytes)) return { kind: 'bad_encoding', bytes: length };
    return { kind: 'line', line: bytes.toString('utf8') };
  }
}

/** True when the first four bytes of `line` spell ABOR in any case. */
function isAbor(line: Buffer): boolean {
  for (let i = 0; i < ABOR.length; i++) {
    // Clearing bit 5 upper-cases ASCII letters; ABOR has no other bytes.
    if (((line[i]) & 0xdf) !== ABOR[i]) return false;
  }
  return true;
}
