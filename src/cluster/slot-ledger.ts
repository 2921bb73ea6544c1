/**
 * A node's own record of the per-IP connection slots it holds in Redis, and
 * the gate that lets the node write that record back exactly.
 *
 * The record is the truth: the node knows which connections it has. Redis
 * can disagree after a command whose answer was lost (did it run?). Such IPs
 * are marked unsure until the record is written back. Writing back must not
 * race with operations: an admission sent before the write but answered after
 * it would be missing from what was written. So a write-back runs
 * `exclusive`ly: operations already in flight finish first, new ones wait.
 */
export class SlotLedger {
  private readonly held = new Map<string, number>();
  private readonly unsure = new Set<string>();
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private barrier: Promise<void> | undefined;

  /** Slots held for `ip`. */
  slots(ip: string): number {
    return this.held.get(ip) ?? 0;
  }

  /** IPs with at least one slot. */
  ips(): string[] {
    return [...this.held.keys()];
  }

  take(ip: string): void {
    this.held.set(ip, this.slots(ip) + 1);
  }

  /** Give one back; false (and nothing changes) when none is held. */
  give(ip: string): boolean {
    const count = this.slots(ip);
    if (count === 0) return false;
    if (count === 1) this.held.delete(ip);
    else this.held.set(ip, count - 1);
    return true;
  }

  /** True while some IP's count in Redis may differ from this record. */
  get hasUnsure(): boolean {
    return this.unsure.size > 0;
  }

  /** What a write-back must write: every held IP and every unsure one (0 = remove). */
  snapshot(): Array<[ip: string, slots: number]> {
    const ips = new Set([...this.held.keys(), ...this.unsure]);
    return [...ips].map((ip) => [ip, this.slots(ip)]);
  }

  /** These IPs were written back. */
  settled(ips: Iterable<string>): void {
    for (const ip of ips) this.unsure.delete(ip);
  }

  clear(): void {
    this.held.clear();
    this.unsure.clear();
  }

  /**
   * Run one operation after any write-back in progress, counted as in flight.
   * If it fails, `ip` (when given) is marked unsure before the operation
   * counts as finished, so a write-back waiting for it includes that IP.
   */
  async run<T>(operation: () => Promise<T>, ip?: string): Promise<T> {
    while (this.barrier) await this.barrier;
    this.inflight += 1;
    try {
      return await operation();
    } catch (err) {
      if (ip !== undefined) this.unsure.add(ip);
      throw err;
    } finally {
      this.inflight -= 1;
      if (this.inflight === 0) this.idleWaiters.splice(0).forEach((wake) => wake());
    }
  }

  /** Run `section` once no operation is in flight, holding new ones until it ends. */
  async exclusive<T>(section: () => Promise<T>): Promise<T> {
    while (this.barrier) await this.barrier;
    let open!: () => void;
    this.barrier = new Promise((resolve) => (open = resolve));
    try {
      if (this.inflight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      return await section();
    } finally {
      this.barrier = undefined;
      open();
    }
  }
}
