/**
 * TYPE A (ASCII) line-end conversion as Transform streams, so it sits in a
 * `pipeline` between the file and the data socket and keeps backpressure.
 *
 * RFC 959 §3.1.1.1: in ASCII type the data connection carries lines ended by
 * CRLF, and each side converts to and from its own line end, which is LF
 * here. So downloads turn LF into CRLF and uploads turn CRLF into LF.
 *
 * Decision for a file that already holds CRLF: only a LF *not* preceded by
 * CR is converted on the way out, so CRLF stays CRLF instead of becoming
 * CR CR LF. That is what vsftpd (ascii_download_enable) and ProFTPD do, and
 * it is what users of mixed files expect; the strict reading would corrupt
 * every Windows text file on download. The way in is symmetric: only the
 * CRLF pair becomes LF, and a lone CR is kept.
 *
 * SIZE in TYPE A: RFC 3659 §4 says SIZE returns the bytes that a RETR in the
 * current TYPE would send. For TYPE A that needs reading the whole file, a
 * cost a client can trigger for free, so SIZE is refused in TYPE A (550, as
 * ProFTPD does) and clients switch to TYPE I first, as they all do. REST with
 * TYPE A is refused for the same reason: its offset counts converted bytes.
 */
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/**
 * The download conversion on its own, chunk by chunk, for a writer that
 * is not a stream (the data connection's ASCII sink): a LF not preceded by
 * CR becomes CRLF. Returns `chunk` itself when it holds no such LF.
 */
export class CrlfEncoder {
  /** The last byte of the previous chunk, to see a CR across a chunk boundary. */
  private lastByte = -1;

  encode(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const parts: Buffer[] = [];
    let start = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      const before = lf === 0 ? this.lastByte : chunk[lf - 1];
      if (before === CR) continue;
      parts.push(chunk.subarray(start, lf), CRLF);
      start = lf + 1;
    }
    this.lastByte = chunk[chunk.length - 1];
    if (parts.length === 0) return chunk;
    parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }
}

/** Downloads in TYPE A: a LF not preceded by CR becomes CRLF. */
export class LfToCrlf extends Transform {
  private readonly encoder = new CrlfEncoder();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    done(null, this.encoder.encode(chunk));
  }
}

const CRLF = Buffer.from([CR, LF]);

/** Uploads in TYPE A: CRLF becomes LF; a lone CR stays. */
export class CrlfToLf extends Transform {
  /** A CR that ended the previous chunk, held until the next byte says what it was. */
  private heldCr = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    const parts: Buffer[] = [];
    let start = 0;
    if (this.heldCr) {
      this.heldCr = false;
      // A CRLF split across chunks: drop the held CR. Otherwise it was a lone CR.
      if (chunk[0] !== LF) parts.push(CR_ONLY);
    }
    for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
      if (lf > 0 && chunk[lf - 1] === CR) {
        parts.push(chunk.subarray(start, lf - 1));
        start = lf;
      }
    }
    let end = chunk.length;
    if (chunk[end - 1] === CR) {
      this.heldCr = true;
      end--;
    }
    parts.push(chunk.subarray(start, end));
    done(null, parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  override _flush(done: TransformCallback): void {
    // The upload ended on a CR: it was a lone CR and belongs to the file.
    done(null, this.heldCr ? CR_ONLY : undefined);
  }
}

const CR_ONLY = Buffer.from([CR]);
