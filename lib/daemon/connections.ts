/**
 * The daemon's accounting of its connections (docs/daemon.md "Limits and fairness"): one object
 * holding every open connection, who it belongs to, whether it is busy, the large request bodies
 * it holds, and each caller's requests in progress. It decides, and only decides: which
 * connection makes room for a new one, whether a caller may hold one more, whether a body may be
 * read now, when a caller's next request may run. Closing a connection is the callback each one
 * registers; nothing here does I/O, so it is tested in-process (tests/connections_unit_test.ts).
 *
 * The rules:
 * - Every accepted connection counts against `maxConnections` from accept until its descriptor is
 *   closed, which may be a moment after `close()` (the descriptor goes when the read pending on it
 *   has ended): a connection closed to make room still counts until the server `remove`s it. A
 *   connection belongs to no caller until it proves one (a challenge on the socket, a token over
 *   TLS); such unproven connections have their own, smaller cap, `maxUnproven`.
 * - At the daemon's cap, nothing more is accepted (connections wait in the listen queue, holding
 *   no descriptor of the daemon's) until one is gone; meanwhile an idle connection is closed to make
 *   room: of the group holding the most connections (each proven caller is a group, the unproven
 *   are one), its oldest idle one. A busy connection (a request being performed, an add-krb waiting
 *   for its credmon) is never closed to make room, but counts. At the unproven cap, a new
 *   connection closes the oldest idle unproven one.
 * - A caller holds at most `maxCallerConnections`; proving one more closes its own oldest idle
 *   connection, or is refused when all of them are busy.
 * - A caller has at most `maxCallerRequests` requests performed at once; the next ones wait their
 *   turn, in order.
 * - Bodies larger than `smallBody` bytes are counted while they are read and handled: at most
 *   `bodyBudget` in all, `callerBodyBudget` per caller, `unprovenBodyBudget` for all unproven
 *   connections together. Smaller bodies are bounded by the connection caps and never counted.
 * - Root (`exempt`) is the operator: it is held to the daemon's caps, not to a caller's.
 */

/** The limits of a ConnectionTable. */
export interface ConnectionLimits {
  /** Open connections in all (CREDD_MAX_CONNECTIONS). */
  readonly maxConnections: number;
  /** Connections not yet proven (CREDD_MAX_UNPROVEN_CONNECTIONS). */
  readonly maxUnproven: number;
  /** Connections of one proven caller (CREDD_MAX_CALLER_CONNECTIONS). */
  readonly maxCallerConnections: number;
  /** Requests of one caller performed at once (CREDD_MAX_CALLER_REQUESTS). */
  readonly maxCallerRequests: number;
  /** Bodies up to this size are not counted. */
  readonly smallBody: number;
  /** Larger bodies being read or handled, in all. */
  readonly bodyBudget: number;
  /** The same, for one caller. */
  readonly callerBodyBudget: number;
  /** The same, for every unproven connection together. */
  readonly unprovenBodyBudget: number;
}

/** One open connection, as the table sees it. */
export interface Entry {
  readonly id: number;
  /** When it was accepted (milliseconds). */
  readonly opened: number;
  /** The caller it proved (an account), or null while unproven. */
  readonly owner: string | null;
  /** Whether a request of it is being performed. */
  readonly busy: boolean;
  /** Whether it was closed to make room and its descriptor is on its way out. */
  readonly closing: boolean;
  /** Large-body bytes it holds. */
  readonly body: number;
}

interface Slot {
  readonly id: number;
  readonly opened: number;
  owner: string | null;
  exempt: boolean;
  busy: boolean;
  closing: boolean;
  body: number;
  readonly close: () => void;
}

interface Group {
  readonly slots: Set<Slot>;
  /** Requests of this caller being performed. */
  running: number;
  /** Requests of this caller waiting their turn. */
  readonly waiting: (() => void)[];
  /** Large-body bytes held by its connections. */
  body: number;
}

/** Who a proven connection belongs to: a caller's account, and whether it is root's. */
export interface Owner {
  readonly account: string;
  /** Root: held to the daemon's caps, not to a caller's. */
  readonly exempt: boolean;
}

/** Why a connection was closed to make room (for the log). */
export type EvictionReason = "connections" | "unproven" | "caller";

/** The outcome of `claim`. */
export type ClaimResult = "ok" | "refused";

/** The table of open connections. */
export class ConnectionTable {
  readonly #slots = new Map<number, Slot>();
  /** Proven callers' groups by account; the unproven are UNPROVEN. */
  readonly #groups = new Map<string | null, Group>();
  #nextId = 1;
  #body = 0;
  /** Connections closed to make room whose descriptors are not gone yet. */
  #closing = 0;
  /** Accept loops waiting for room. */
  #waiting: (() => void)[] = [];
  /** Connections closed to make room, by reason (for the log and the tests). */
  readonly evicted: Record<EvictionReason, number> = { connections: 0, unproven: 0, caller: 0 };
  /** New connections refused because nothing could make room. */
  refused = 0;

  constructor(readonly limits: ConnectionLimits) {}

  /** Open connections. */
  get size(): number {
    return this.#slots.size;
  }

  /** Connections of `owner` (null: the unproven), not counting those closing. */
  count(owner: string | null): number {
    return this.#open(this.#groups.get(owner));
  }

  /** Large-body bytes held in all. */
  get bodyBytes(): number {
    return this.#body;
  }

  /** Requests of `owner` performed now, and waiting. */
  requests(owner: string): { running: number; waiting: number } {
    const group = this.#groups.get(owner);
    return { running: group?.running ?? 0, waiting: group?.waiting.length ?? 0 };
  }

  /** A snapshot of connection `id`, or null when it is closed. */
  entry(id: number): Entry | null {
    const slot = this.#slots.get(id);
    return slot === undefined ? null : { ...slot };
  }

  #group(owner: string | null): Group {
    let group = this.#groups.get(owner);
    if (group === undefined) {
      group = { slots: new Set(), running: 0, waiting: [], body: 0 };
      this.#groups.set(owner, group);
    }
    return group;
  }

  #leave(slot: Slot): void {
    const group = this.#groups.get(slot.owner);
    if (group === undefined) return;
    group.slots.delete(slot);
    group.body -= slot.body;
    if (group.slots.size === 0 && group.running === 0 && group.waiting.length === 0) {
      this.#groups.delete(slot.owner);
    }
  }

  /** Connections of `group` not closing. */
  #open(group: Group | undefined): number {
    let n = 0;
    for (const slot of group?.slots ?? []) if (!slot.closing) n++;
    return n;
  }

  /** The oldest idle connection of `group`, other than `except`. */
  #oldestIdle(group: Group | undefined, except?: Slot): Slot | null {
    let oldest: Slot | null = null;
    for (const slot of group?.slots ?? []) {
      if (slot.busy || slot.closing || slot === except) continue;
      if (oldest === null || slot.opened < oldest.opened) oldest = slot;
    }
    return oldest;
  }

  /** Closes `slot` to make room; it counts until `remove` (its descriptor is going). */
  #evict(slot: Slot, reason: EvictionReason): void {
    this.evicted[reason]++;
    slot.closing = true;
    this.#closing++;
    slot.close();
  }

  /**
   * Closes one idle connection of the group holding the most connections (the unproven are one
   * group), trying the next group when the largest has none idle. False when nothing is idle.
   */
  evictOne(): boolean {
    const groups = [...this.#groups.values()].filter((g) => g.slots.size > 0)
      .sort((a, b) => b.slots.size - a.slots.size);
    for (const group of groups) {
      const victim = this.#oldestIdle(group);
      if (victim !== null) {
        this.#evict(victim, "connections");
        return true;
      }
    }
    return false;
  }

  /**
   * Registers a connection just accepted, unproven, after making room for it. `close` closes it
   * (the table counts it until `remove`). Returns its id, or null when it must be refused (every
   * connection that could make room is busy or already closing); the caller then closes it.
   */
  open(close: () => void, now: number = Date.now()): number | null {
    const unproven = this.#groups.get(null);
    if (this.#open(unproven) >= this.limits.maxUnproven) {
      const victim = this.#oldestIdle(unproven);
      if (victim === null) {
        this.refused++;
        return null;
      }
      this.#evict(victim, "unproven");
    }
    if (this.#slots.size >= this.limits.maxConnections) {
      // Accepted past the cap (`room` was not awaited): refused.
      this.refused++;
      return null;
    }
    const slot: Slot = {
      id: this.#nextId++,
      opened: now,
      owner: null,
      exempt: false,
      busy: false,
      closing: false,
      body: 0,
      close,
    };
    this.#slots.set(slot.id, slot);
    this.#group(null).slots.add(slot);
    return slot.id;
  }

  /**
   * Closes every connection (only the idle ones with `idleOnly`), as at a stop: they count until
   * the server `remove`s them.
   */
  closeEvery({ idleOnly }: { readonly idleOnly: boolean }): void {
    for (const slot of this.#slots.values()) {
      if (slot.closing || (idleOnly && slot.busy)) continue;
      slot.closing = true;
      this.#closing++;
      slot.close();
    }
  }

  /**
   * Resolves once a connection may be accepted: fewer than `maxConnections` are open. While there
   * is no room, an idle connection is closed to make some (unless one is on its way out already).
   */
  async room(): Promise<void> {
    while (this.#slots.size >= this.limits.maxConnections) {
      if (this.#closing === 0) this.evictOne();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** Forgets connection `id`: its descriptor is closed. Idempotent. */
  remove(id: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
    this.#slots.delete(id);
    if (slot.closing) this.#closing--;
    this.#body -= slot.body;
    this.#leave(slot);
  }

  /**
   * Connection `id` proved its owner. Over the caller's cap, its oldest idle other connection is
   * closed; "refused" when all of them are busy (the connection is then left unproven, and its
   * request must be refused).
   */
  claim(id: number, { account: owner, exempt }: Owner): ClaimResult {
    const slot = this.#slots.get(id);
    if (slot === undefined) return "refused";
    if (slot.owner === owner) {
      slot.exempt = exempt;
      return "ok";
    }
    const group = this.#group(owner);
    if (!exempt && this.#open(group) >= this.limits.maxCallerConnections) {
      const victim = this.#oldestIdle(group, slot);
      if (victim === null) return "refused";
      this.#evict(victim, "caller");
    }
    this.#leave(slot);
    slot.owner = owner;
    slot.exempt = exempt;
    group.slots.add(slot);
    group.body += slot.body;
    return "ok";
  }

  /** Connection `id` lost its identity (a failed proof): it is unproven again. */
  disown(id: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.owner === null) return;
    this.#leave(slot);
    slot.owner = null;
    slot.exempt = false;
    const group = this.#group(null);
    group.slots.add(slot);
    group.body += slot.body;
  }

  /** Marks connection `id` busy (a request is being read or performed) or idle. */
  setBusy(id: number, busy: boolean): void {
    const slot = this.#slots.get(id);
    if (slot !== undefined) slot.busy = busy;
  }

  /**
   * Reserves a body of `length` bytes for connection `id`, against its group's budget ("share")
   * and the daemon's ("all"). Bodies up to `smallBody` are not counted. Unless "ok", the body
   * must not be read. A connection holds one body at a time (the previous one is released).
   */
  reserveBody(id: number, length: number): "ok" | "share" | "all" {
    const slot = this.#slots.get(id);
    if (slot === undefined) return "all";
    this.releaseBody(id);
    if (length <= this.limits.smallBody) return "ok";
    const group = this.#group(slot.owner);
    const share = slot.owner === null
      ? this.limits.unprovenBodyBudget
      : slot.exempt
      ? this.limits.bodyBudget
      : this.limits.callerBodyBudget;
    if (group.body + length > share) return "share";
    if (this.#body + length > this.limits.bodyBudget) return "all";
    slot.body = length;
    group.body += length;
    this.#body += length;
    return "ok";
  }

  /** Gives back the body connection `id` holds. */
  releaseBody(id: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.body === 0) return;
    const group = this.#groups.get(slot.owner);
    if (group !== undefined) group.body -= slot.body;
    this.#body -= slot.body;
    slot.body = 0;
  }

  /**
   * Waits for the owner's turn to perform a request (at most `maxCallerRequests` at once; root
   * has no such cap). Returns, or resolves with, the function that ends the request.
   */
  turn({ account: owner, exempt }: Owner): Promise<() => void> | (() => void) {
    const group = this.#group(owner);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      group.running--;
      const next = group.waiting.shift();
      if (next !== undefined) next();
      else if (group.slots.size === 0 && group.running === 0) this.#groups.delete(owner);
    };
    if (exempt || group.running < this.limits.maxCallerRequests) {
      group.running++;
      return end;
    }
    return new Promise((resolve) => {
      group.waiting.push(() => {
        group.running++;
        resolve(end);
      });
    });
  }
}

/**
 * Failures of `accept` (no descriptor left: EMFILE, ENFILE), counted and logged at most once a
 * second with the count. `delay` is how long to wait before the next accept: it doubles while
 * accepts keep failing (up to a second) and is back to nothing after one succeeds.
 */
export class AcceptFailures {
  #count = 0;
  #lastLog = -Infinity;
  #delay = 0;
  /** Lines logged (for the tests). */
  logged = 0;

  constructor(readonly log: (line: string) => void, readonly name: string) {}

  /** Records a failed accept at `now`; returns the milliseconds to wait before the next. */
  failed(error: Error, now: number = Date.now()): number {
    this.#count++;
    this.#delay = Math.min(1000, Math.max(10, this.#delay * 2));
    if (now - this.#lastLog >= 1000) {
      const code = (error as { code?: string }).code;
      this.log(
        `accept on ${this.name} failed ${this.#count} time(s) since the last report: ` +
          `${code ?? error.name}: ${error.message.replace(/ \(os error \d+\)$/, "")}; backing off`,
      );
      this.logged++;
      this.#count = 0;
      this.#lastLog = now;
    }
    return this.#delay;
  }

  /** Records a successful accept. */
  succeeded(): void {
    this.#delay = 0;
  }
}

/** True for an accept failure that means no descriptor (or memory) was free. */
function outOfDescriptors(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "EMFILE" || code === "ENFILE" || code === "ENOBUFS" || code === "ENOMEM" ||
    /too many open files/i.test((error as Error)?.message ?? "");
}

/** Options of `acceptConnections`. */
export interface AcceptOptions {
  readonly table: ConnectionTable;
  readonly log: (line: string) => void;
  /** The listener's name, for the log ("the socket", "the TLS port"). */
  readonly name: string;
  readonly stopping: () => boolean;
  /** Takes a connection just accepted. */
  readonly take: (conn: Deno.Conn) => void;
}

/**
 * Accepts connections on `listener` until the daemon stops, each when the table has room (at the
 * cap, connections wait in the listen queue, holding no descriptor of the daemon's). When no
 * descriptor is free (EMFILE, ENFILE), it closes an idle connection (of whoever holds the most)
 * so that the next accept may succeed, and waits a little: AcceptFailures says how long, and logs
 * it at most once a second.
 */
export async function acceptConnections(
  listener: Deno.Listener,
  options: AcceptOptions,
): Promise<void> {
  const { table, log, name, stopping, take } = options;
  const failures = new AcceptFailures(log, name);
  while (!stopping()) {
    // At the cap, connections wait in the listen queue (holding no descriptor of ours).
    await table.room();
    if (stopping()) return;
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stopping() || error instanceof Deno.errors.BadResource) return;
      if (!outOfDescriptors(error)) {
        log(`accept on ${name} failed: ${(error as Error).message}`);
        continue;
      }
      // No descriptor is free: close an idle connection (of whoever holds the most) so that
      // the next accept may succeed, and wait a little; the connections waiting to be
      // accepted stay in the listen queue meanwhile.
      table.evictOne();
      const wait = failures.failed(error as Error);
      await new Promise((resolve) => setTimeout(resolve, wait));
      continue;
    }
    failures.succeeded();
    take(conn);
  }
}
