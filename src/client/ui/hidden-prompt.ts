import { Writable } from 'node:stream';

/** A terminal input, as much of `process.stdin` as the prompt needs. */
export interface PromptInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** Thrown when the user presses Ctrl-C or Ctrl-D at a password prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'PromptCancelled';
  }
}

/**
 * Ask for a secret on a terminal without echoing it. The terminal is put in
 * raw mode for the duration, so nothing typed is shown (not even stars: a
 * length is a hint too); Backspace edits, Enter ends, Ctrl-C cancels.
 * Only for terminals: callers check `isTTY` and use another source otherwise.
 */
export function promptHidden(input: PromptInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    return Promise.reject(new Error('no terminal to ask for a password on'));
  }
  const setRaw = input.setRawMode.bind(input);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    let escape = false;
    const finish = (err?: Error) => {
      input.off('data', onData);
      setRaw(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of String(chunk)) {
        if (escape) {
          // Skip the rest of an arrow-key or similar sequence.
          if (/[A-Za-z~]/.test(ch)) escape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new PromptCancelled());
        if (ch === '\u0004') return value === '' ? finish(new PromptCancelled()) : finish();
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch === '\u001b') escape = true;
        else if (ch >= ' ') value += ch;
      }
    };
    setRaw(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}

/**
 * A pass-through to a terminal stream that can be muted: the shell's
 * readline writes through it, and muting it while a password is typed keeps
 * readline from echoing the keys — without touching readline's internals.
 */
export class MutableOutput extends Writable {
  muted = false;
  readonly isTTY: boolean;

  constructor(private readonly target: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number }) {
    super();
    this.isTTY = target.isTTY === true;
    // readline redraws on resize and reads the width from `columns`.
    target.on?.('resize', () => this.emit('resize'));
  }

  get columns(): number | undefined {
    return this.target.columns;
  }

  get rows(): number | undefined {
    return this.target.rows;
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.muted) {
      callback();
      return;
    }
    // Straight through and done at once: queueing here would let lines the
    // shell prints directly to the terminal overtake readline's prompt.
    this.target.write(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    callback();
  }
}
