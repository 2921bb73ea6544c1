import { parentPort } from 'node:worker_threads';
import type { Identity } from './identity';
import { readSmallFileSync } from './small-files';

/** Worker entry: one small-file read per message, answered in order. */
parentPort?.on('message', (job: { id: number; root: string; parts: string[]; maxBytes: number; pin?: Identity }) => {
  const result = readSmallFileSync(job.root, job.parts, job.maxBytes, job.pin);
  if (result.kind === 'read') {
    const { data } = result.file;
    // Hand the bytes over without a copy.
    const copy = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    parentPort!.postMessage({ id: job.id, kind: 'read', bytes: copy, size: result.file.size, versionKey: result.file.versionKey }, [copy as ArrayBuffer]);
  } else {
    parentPort!.postMessage({ id: job.id, kind: result.kind });
  }
});
