/**
 * State that every storage over the same disk must share, whichever folder
 * it is rooted at. A server holds several storages over one tree (the served
 * root, and one per logged-in home below it); if each kept its own list of
 * uploads in flight, the root's RMDIR would take a home's in-flight temp
 * file for a stale one, and each free-space check would ignore the others'
 * uploads. So there is one registry per process, keyed by real paths and
 * devices, which are the same whichever storage looks.
 */

/** One upload in flight, as the registry sees it. */
export interface InFlightUpload {
  /** Real path of its temporary file. */
  readonly tempPath: string;
  /** Device (`st_dev`) of the folder it is written in. */
  readonly device: bigint;
  /** Bytes announced but not yet written: space the disk must still find. */
  outstandingBytes(): number;
}

/** See the module comment. */
export class StorageRegistry {
  private readonly uploads = new Map<string, InFlightUpload>();
  private renameQueue: Promise<void> = Promise.resolve();

  /** Record an upload as in flight (its temp file is not stale). */
  add(upload: InFlightUpload): void {
    this.uploads.set(upload.tempPath, upload);
  }

  /** Forget an upload; safe for one never added. */
  delete(tempPath: string): void {
    this.uploads.delete(tempPath);
  }

  /** True while `tempPath` (a real path) belongs to an upload in flight. */
  isInFlight(tempPath: string): boolean {
    return this.uploads.has(tempPath);
  }

  /** The real temp paths in flight, for the stale-upload sweep. */
  inFlight(): ReadonlySet<string> {
    return new Set(this.uploads.keys());
  }

  /**
   * Bytes that uploads in flight on `device` have announced and not yet
   * written. `statfs` shows only what is already on disk, so a new upload
   * must also leave room for these.
   */
  reservedBytes(device: bigint): number {
    let total = 0;
    for (const upload of this.uploads.values()) {
      if (upload.device === device) total += upload.outstandingBytes();
    }
    return total;
  }

  /**
   * Run `task` with no other rename of this process running. A rename's
   * link check reads the tree and then renames; two renames interleaved
   * could each pass their check and together make a link lead outside (a
   * link moved into a folder while that folder moves up). Renames are rare
   * and short, so one queue for all of them costs nothing noticeable.
   */
  exclusiveRename<T>(task: () => Promise<T>): Promise<T> {
    const run = this.renameQueue.then(task);
    this.renameQueue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** The registry every storage of this process uses unless told otherwise (tests). */
export const processRegistry = new StorageRegistry();
