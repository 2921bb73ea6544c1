/**
 * The library's public surface: what `require('ftp-server')` gives. See
 * docs/LIBRARY.md for a tour.
 *
 * Everything here is meant to be used from outside: a server on storage of
 * your choosing, the storage contract to implement a backend of your own,
 * the error kinds each layer throws, accounts, observers and the client.
 * What is not exported (the sessions, the command runner, the transfer
 * service's insides, the wire codec) may change without notice.
 */

// The server: one shared core of services, and the native port in front of it.
export { FileServer, TLS_CIPHERS } from './server/file-server';
export type { FileServerOptions, TlsCredentials, BanList } from './server/file-server';
export { ServerCore } from './core/server-core';
export type { ServerCoreOptions } from './core/server-core';
export { allListeners } from './core/listener';
export type { Listener } from './core/listener';
// The standard FTP/FTPS port (docs/FTP.md): another listener on the same core.
export { FtpServer } from './ftp/ftp-server';
export type { FtpServerOptions } from './ftp/ftp-server';
export type { SharedLimits } from './core/shared-limits';
export { DEFAULT_LIMITS, DEFAULT_PORT, PROTOCOL_VERSION, SERVER_NAME } from './config/defaults';
export type { ServerLimits } from './config/defaults';

// Storage: the contract every backend implements, and the two that ship.
export type {
  Storage,
  StorageEntry,
  StorageCapabilities,
  DownloadSource,
  SmallFile,
  PendingUpload,
  UploadOptions as StorageUploadOptions,
  ListOptions as StorageListOptions,
  WriteOptions as StorageWriteOptions,
} from './storage/storage';
export { StorageError, STORAGE_ERROR_KINDS, isStorageError } from './storage/errors';
export type { StorageErrorKind } from './storage/errors';
export {
  parseClientPath,
  childPath,
  parentOf,
  pathText,
  compareCodePoints,
  ROOT_PATH,
  MAX_PATH_BYTES,
  MAX_PART_BYTES,
} from './storage/path-rules';
export type { StoragePath } from './storage/path-rules';
export { LocalStorage } from './storage/local-storage';
export type { LocalStorageOptions } from './storage/local-storage';
export { S3Storage } from './storage/s3/s3-storage';
export type { S3StorageOptions } from './storage/s3/options';

// Transfers: what a download or an upload can fail on beyond storage.
export { TransferError, TRANSFER_ERROR_KINDS } from './core/errors';
export type { TransferErrorKind } from './core/errors';

// Accounts and logins.
export { AuthError, AUTH_ERROR_KINDS } from './auth/errors';
export type { AuthErrorKind } from './auth/errors';
export { ALL_PERMISSIONS } from './core/access';
export type { Authenticator, Permission, Principal, SessionInfo } from './core/access';
export { Accounts, ANONYMOUS_USER } from './auth/accounts';
export type { AccountsOptions, AnonymousAccess } from './auth/accounts';
export { DEFAULT_LOGIN_POLICY } from './auth/login-guard';
export type { LoginPolicy } from './auth/login-guard';
export {
  emptyUsers,
  loadUsersFile,
  saveUsersFile,
  withUsersLock,
  parsePermissions,
  userNameProblem,
  UsersFileError,
} from './auth/users-file';
export type { UserRecord, UsersData } from './auth/users-file';
export { hashPassword, DEFAULT_SCRYPT } from './auth/password-hash';
export type { ScryptParams } from './auth/password-hash';
export { loadTlsFiles, TlsFilesError } from './auth/tls-files';
export type { LoadedTls } from './auth/tls-files';
export { createSelfSigned, CertificateError } from './auth/self-signed';
export type { CertificatePair, SelfSignedOptions } from './auth/self-signed';

// Observers: metrics, the transfer log, or your own hooks.
export type { ServerObserver, TransferRecord, TransferStart, ConnectionResult, Protocol } from './core/observer';
export { MetricsObserver } from './admin/metrics';
export type { MetricsOptions, MetricsTotals } from './admin/metrics';
export { combineObservers } from './admin/observers';
export { TransferLog } from './logging/transfer-log';
export type { TransferLogOptions } from './logging/transfer-log';

// Logging and time, injected rather than reached for.
export { silentLog, MemoryLog } from './logging/log';
export type { Log, RecordedLine } from './logging/log';
export { createServerLog } from './logging/winston-log';
export type { ServerLog, ServerLogOptions, ServerLogLevel, ServerLogFormat } from './logging/winston-log';
export { systemClock, FakeClock } from './util/clock';
export type { Clock, Timer } from './util/clock';

// The client library.
export {
  FtpClient,
  FtpError,
  kindForCode,
  DEFAULT_CLIENT_TIMEOUT_MS,
  PART_SUFFIX,
  PART_VERSION_SUFFIX,
  LocalDigestCache,
  sha256File,
  visible,
} from './client';
export type {
  FtpErrorKind,
  Greeting,
  ConnectionOptions,
  GetOptions,
  GetResult,
  GetStart,
  PutOptions,
  PutResult,
  ProgressCallback,
  DownloadOptions,
  DownloadResult,
  RestartReason,
  UploadOptions,
  UploadResult,
} from './client';
export type { TlsClientOptions } from './client/connection';
export type { FileEntry } from './protocol/messages';
