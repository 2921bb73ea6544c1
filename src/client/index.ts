/**
 * The client library's public surface: import from here (the shell, the
 * one-shot CLI, the stress tool and the tests all use this one library).
 */
export { FtpClient } from './ftp-client';
export type { Greeting, ConnectionOptions } from './ftp-client';
export { DEFAULT_CLIENT_TIMEOUT_MS } from './connection';
export { FtpError, kindForCode, type FtpErrorKind } from './errors';
export type { GetOptions, GetResult, GetStart, PutOptions, PutResult, ProgressCallback } from './transfers';
export type { DownloadOptions, DownloadResult, RestartReason, UploadOptions, UploadResult } from './file-transfers';
export { PART_VERSION_SUFFIX } from './part-version';
/** Error messages may carry text from the server: pass them through this before a terminal. */
export { visible, jsonLine } from './ui/terminal-text';
export { assertSafeLocalName, unsafeNameReason, sha256File, PART_SUFFIX } from './local-files';
export { LocalDigestCache, processDigests } from './local-digests';
