// A linearizability checker for client histories recorded by tests, the
// deterministic simulator and scripts. Pure and deterministic: no node:*
// imports, no clock, no randomness, so it runs inside the simulator and a
// failing seed reproduces the same verdict and the same explanation.
//
// The search is Wing & Gong's, with Lowe's memoization, in the shape that
// Porcupine and Knossos use: the history becomes one list of call and return
// entries ordered by time; a depth-first search linearizes a call whose
// model step is legal, removes ("lifts") it and its return from the list,
// and backtracks when it reaches a return whose call it has not linearized.
// A cache of (set of linearized ops, model state) prunes every configuration
// already explored, since what can follow depends only on that pair.
//
// The model is partitioned (P-compositionality): a history is linearizable
// iff each partition's sub-history is, and checking small partitions is
// exponentially cheaper than one big one. For znodes, a partition is a path.
//
// Ops whose outcome is unknown are what make the search blow up: each may
// be placed anywhere after its call, or nowhere. Four sound reductions keep
// that in check (each explained where it is applied): the cache treats a
// configuration as covered by one with a subset of its unknown ops; ops
// that cannot change the state are placed as soon as they fit, with no
// alternatives tried; unknown ops with identical inputs are placed only in
// call order; and the model may merge states no output can distinguish
// (Model.prepare). The worst case stays exponential in the number of
// unknown-outcome writes pending at once on one partition; the budget
// bounds it.

/** The output of an operation whose outcome the client never learned. */
export const UNKNOWN = 'unknown' as const;
export type Unknown = typeof UNKNOWN;

/**
 * One client operation. Times come from any monotonic clock (the simulator's
 * ticks, or a real clock in multi-process tests). An operation whose outcome
 * is unknown (connection loss, timeout, client crash) has output 'unknown'
 * and returnTime Infinity: it may take effect at any point after its call,
 * or never — a request in flight can still be applied after the client gave
 * up on it, so its return time is not when the client stopped waiting.
 */
export interface Operation<I, O> {
  clientId: number | string;
  callTime: number;
  returnTime: number;
  input: I;
  output: O | Unknown;
}

export interface StepResult<S> {
  /** Whether the model allows this input to produce this output from this state. */
  ok: boolean;
  /** The state after the operation; only read when ok. */
  next: S;
}

/**
 * A sequential specification. States are values: step must not mutate its
 * argument. equal and hash must agree (equal states hash equally).
 */
export interface Model<S, I, O> {
  init(): S;
  /**
   * With output 'unknown', ok is true whenever the input can be applied at
   * all, and next is the state had it taken effect.
   */
  step(state: S, input: I, output: O | Unknown): StepResult<S>;
  equal(a: S, b: S): boolean;
  hash(state: S): number;
  /** The partition an input belongs to; without it the history is checked whole. */
  partition?(input: I): string;
  /**
   * True if an op with this input and output can never change the state,
   * in any state where the model accepts it (a read; a write that failed).
   * Such an op is placed as soon as it fits, without trying alternatives,
   * and an unknown-outcome one is dropped before the search: it explains
   * nothing. Answering false is always safe, only slower.
   */
  readOnly?(input: I, output: O | Unknown): boolean;
  /**
   * A rewriting of this history's inputs that keeps every step's verdict
   * but lets states no output can tell apart compare equal (the znode model
   * replaces data that no read returned by a placeholder). The search runs
   * on the rewritten inputs; reports show the originals.
   */
  prepare?(history: readonly Operation<I, O>[]): (input: I) => I;
  /**
   * A key such that inputs with equal keys act identically in every state.
   * Unknown-outcome ops with equal keys are interchangeable, so the search
   * linearizes them only in call order instead of in every order.
   */
  inputKey?(input: I): string;
  formatInput?(input: I): string;
  formatOutput?(output: O): string;
  formatState?(state: S): string;
  /** Why `output` is not what `input` gives from `state`, for the report. */
  explain?(state: S, input: I, output: O | Unknown): string;
}

export interface Budget {
  /** Model steps allowed per partition. Total work is at most partitions × maxSteps. */
  maxSteps?: number;
  /** Memo entries allowed per partition (bounds memory). */
  maxCacheEntries?: number;
}

export type Verdict = 'ok' | 'illegal' | 'unknown-budget-exceeded';

export interface PartitionReport {
  key: string;
  /** Operations checked (after dropping unknown-outcome reads). */
  ops: number;
  result: Verdict;
  steps: number;
  cacheEntries: number;
  /** On 'ok': indices into the original history, in a linearization order (unknown ops that never happened are left out). */
  linearization?: number[];
}

export interface IllegalReport<S> {
  key: string;
  /** Indices into the original history: the longest linearizable prefix found. */
  prefix: number[];
  /** Model state after that prefix. */
  state: S;
  /** Indices into the original history: ops that were candidates to go next after the prefix, none of which led to a full linearization. */
  unplaced: number[];
  /** The op whose return closed the window: it had to be linearized by then. */
  blocking: number;
  /** The same as text, for a test failure message. */
  text: string;
}

export interface CheckResult<S> {
  result: Verdict;
  partitions: PartitionReport[];
  steps: number;
  /** The first illegal partition (partitions are checked in key order). */
  illegal?: IllegalReport<S>;
  /** Human-readable summary; for 'illegal' the explanation. */
  text: string;
}

const DEFAULT_BUDGET: Required<Budget> = { maxSteps: 5_000_000, maxCacheEntries: 2_000_000 };

/**
 * Check a whole history against a model, one partition at a time. Every
 * partition is checked (unless one is illegal, which decides the verdict),
 * so a budget overrun in one path does not hide a violation in another.
 */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  budget: Budget = {},
): CheckResult<S> {
  const limits: Required<Budget> = { ...DEFAULT_BUDGET, ...budget };
  validate(history);

  const groups = new Map<string, number[]>();
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    if (op.output === UNKNOWN && model.readOnly?.(op.input, op.output)) continue;
    const key = model.partition ? model.partition(op.input) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const keys = [...groups.keys()].sort();
  const rewrite = model.prepare?.(history);
  const inputs = history.map((op) => (rewrite ? rewrite(op.input) : op.input));

  const partitions: PartitionReport[] = [];
  let steps = 0;
  let overrun = false;
  for (const key of keys) {
    const search = new Search(model, history, inputs, groups.get(key)!, limits);
    const outcome = search.run();
    steps += search.steps;
    const report: PartitionReport = {
      key,
      ops: groups.get(key)!.length,
      result: outcome,
      steps: search.steps,
      cacheEntries: search.cacheEntries,
    };
    if (outcome === 'ok') report.linearization = search.linearization();
    partitions.push(report);
    if (outcome === 'illegal') {
      const illegal = search.illegalReport(key);
      return { result: 'illegal', partitions, steps, illegal, text: illegal.text };
    }
    if (outcome === 'unknown-budget-exceeded') overrun = true;
  }
  if (overrun) {
    const over = partitions.filter((p) => p.result !== 'ok').map((p) => describeKey(p.key));
    return {
      result: 'unknown-budget-exceeded',
      partitions,
      steps,
      text: `budget exceeded (maxSteps ${limits.maxSteps}, maxCacheEntries ${limits.maxCacheEntries}) on ${over.join(', ')}; the other ${partitions.length - over.length} partition(s) are linearizable`,
    };
  }
  return {
    result: 'ok',
    partitions,
    steps,
    text: `linearizable: ${history.length} ops in ${partitions.length} partition(s), ${steps} model steps`,
  };
}

function validate<I, O>(history: readonly Operation<I, O>[]): void {
  for (let i = 0; i < history.length; i++) {
    const op = history[i]!;
    if (!Number.isFinite(op.callTime)) {
      throw new Error(`operation #${i}: callTime must be a finite number, got ${op.callTime}`);
    }
    if (op.output === UNKNOWN) {
      if (op.returnTime !== Infinity) {
        throw new Error(`operation #${i}: an unknown outcome must have returnTime Infinity, got ${op.returnTime}`);
      }
    } else {
      if (!Number.isFinite(op.returnTime)) {
        throw new Error(`operation #${i}: a known outcome needs a finite returnTime, got ${op.returnTime}`);
      }
      if (op.returnTime < op.callTime) {
        throw new Error(`operation #${i}: returnTime ${op.returnTime} is before callTime ${op.callTime}`);
      }
    }
  }
}

function describeKey(key: string): string {
  return key === '' ? 'the history' : key;
}

/** A scan position meaning: every candidate of this node is known to fail. */
const NODE_FAILED = -2;

/**
 * The configurations seen with one set of known-outcome ops and one state:
 * the sets of unknown-outcome ops they had linearized, kept minimal (none
 * a superset of another), since a smaller set subsumes its supersets.
 */
interface Group<S> {
  known: Uint32Array;
  state: S;
  unknown: Uint32Array[];
}

/**
 * The entry list is a doubly linked list over arrays: entry 0 is the head
 * sentinel, then one call entry per op and one return entry per op with a
 * known outcome. Unknown-outcome ops have no return entry: nothing forces
 * them to be linearized, and the search succeeds once every op with a
 * return has been linearized.
 */
class Search<S, I, O> {
  steps = 0;
  cacheEntries = 0;

  private readonly n: number;
  /** The configuration bitset: words [0, knownWords) hold the known-outcome ops, the rest the unknown ones. */
  private readonly words: number;
  private readonly knownWords: number;
  /** For local op i: its word and bit in the configuration bitset. */
  private readonly wordOf: Int32Array;
  private readonly maskOf: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  /** For entry e: the local op index, and whether it is a call. */
  private readonly entryOp: Int32Array;
  private readonly entryIsCall: Uint8Array;
  /** For local op i: its return entry, or -1 when the outcome is unknown. */
  private readonly returnEntry: Int32Array;
  /** For local op i: whether it cannot change the state (Model.readOnly). */
  private readonly inert: Uint8Array;
  /** For unknown-outcome local op i: the latest op called before it with the same Model.inputKey, else -1. */
  private readonly prevTwin: Int32Array;
  /** Lowe's memo, by a hash of the known-outcome bits and the state. */
  private readonly cache = new Map<number, Group<S>[]>();

  /**
   * The linearized prefix that placed the most known-outcome ops (unknown
   * ones placed after those explain nothing), for the report.
   */
  private bestPrefix: number[] = [];
  private bestKnown = 0;
  /** The stack holds more known ops than bestPrefix: copy it before the next backtrack. */
  private bestPending = false;
  private bestDepth = 0;
  private bestBits: Uint32Array;
  private finalOrder: number[] = [];

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly history: readonly Operation<I, O>[],
    /** The inputs the search steps with: history's, after Model.prepare. */
    private readonly inputs: readonly I[],
    /** Local op index → index in history. */
    private readonly ops: number[],
    private readonly limits: Required<Budget>,
  ) {
    this.n = ops.length;
    this.wordOf = new Int32Array(this.n);
    this.maskOf = new Int32Array(this.n);
    let known = 0;
    for (const i of ops) if (history[i]!.output !== UNKNOWN) known++;
    this.knownWords = Math.ceil(known / 32);
    this.words = this.knownWords + Math.ceil((this.n - known) / 32);
    for (let i = 0, k = 0, u = 0; i < this.n; i++) {
      const b = history[ops[i]!]!.output !== UNKNOWN ? k++ : 32 * this.knownWords + u++;
      this.wordOf[i] = b >>> 5;
      this.maskOf[i] = 1 << (b & 31);
    }
    const events: { time: number; isCall: boolean; op: number }[] = [];
    for (let i = 0; i < this.n; i++) {
      const op = history[ops[i]!]!;
      events.push({ time: op.callTime, isCall: true, op: i });
      if (op.output !== UNKNOWN) events.push({ time: op.returnTime, isCall: false, op: i });
    }
    // At equal times calls go before returns, so ops that touch at an
    // instant count as concurrent: a coarse clock (simulator ticks) can
    // then only hide a violation, never invent one.
    events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
    const m = events.length + 1;
    this.next = new Int32Array(m);
    this.prev = new Int32Array(m);
    this.entryOp = new Int32Array(m).fill(-1);
    this.entryIsCall = new Uint8Array(m);
    this.returnEntry = new Int32Array(this.n).fill(-1);
    for (let e = 0; e < m; e++) {
      this.next[e] = e + 1 < m ? e + 1 : -1;
      this.prev[e] = e - 1;
    }
    events.forEach((ev, k) => {
      const e = k + 1;
      this.entryOp[e] = ev.op;
      this.entryIsCall[e] = ev.isCall ? 1 : 0;
      if (!ev.isCall) this.returnEntry[ev.op] = e;
    });
    this.inert = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const op = history[ops[i]!]!;
      if (model.readOnly?.(op.input, op.output)) this.inert[i] = 1;
    }
    this.prevTwin = new Int32Array(this.n).fill(-1);
    if (model.inputKey) {
      const last = new Map<string, number>();
      for (let e = 1; e < m; e++) {
        const i = this.entryOp[e]!;
        if (!this.entryIsCall[e] || this.returnEntry[i]! >= 0) continue;
        const k = model.inputKey(inputs[ops[i]!]!);
        this.prevTwin[i] = last.get(k) ?? -1;
        last.set(k, i);
      }
    }
    this.bestBits = new Uint32Array(this.words);
  }

  run(): Verdict {
    const { model, history, inputs, ops, next, entryIsCall, entryOp, returnEntry, wordOf, maskOf, prevTwin } = this;
    const bits = new Uint32Array(this.words);
    let remaining = 0;
    for (let i = 0; i < this.n; i++) if (returnEntry[i]! >= 0) remaining++;
    let state = model.init();
    if (remaining === 0) return 'ok';
    const total = remaining;
    this.remember(bits, state);
    // The stack of linearized call entries and the state before each.
    const stackEntry: number[] = [];
    const stackState: S[] = [];

    // Each node of the search scans its candidates in two phases: first
    // the calls of known-outcome ops up to the first pending return, then
    // the unknown-outcome calls before that return. Trying unknown ops last
    // explores the configurations with fewer of them linearized first, and
    // those subsume the rest in the cache (see remember).
    let unknownPhase = false;
    let e = next[0]!;
    for (;;) {
      if (e >= 0 && entryIsCall[e]) {
        const i = entryOp[e]!;
        if (returnEntry[i]! < 0 !== unknownPhase) {
          e = next[e]!;
          continue;
        }
        // Of interchangeable unknown ops, only the earliest-called one not
        // yet linearized is tried: any order using a later twin instead
        // works as well with the earlier one, which was called before it.
        const twin = prevTwin[i]!;
        if (twin >= 0 && (bits[wordOf[twin]!]! & maskOf[twin]!) === 0) {
          e = next[e]!;
          continue;
        }
        if (this.steps >= this.limits.maxSteps) return 'unknown-budget-exceeded';
        this.steps++;
        const r = model.step(state, inputs[ops[i]!]!, history[ops[i]!]!.output);
        if (r.ok) {
          bits[wordOf[i]!]! |= maskOf[i]!;
          if (this.remember(bits, r.next)) {
            if (this.cacheEntries > this.limits.maxCacheEntries) return 'unknown-budget-exceeded';
            stackEntry.push(e);
            stackState.push(state);
            state = r.next;
            this.lift(e);
            if (returnEntry[i]! >= 0) remaining--;
            if (total - remaining > this.bestKnown) {
              this.bestKnown = total - remaining;
              this.bestDepth = stackEntry.length;
              this.bestPending = true;
            }
            if (remaining === 0) {
              this.finalOrder = stackEntry.map((c) => ops[entryOp[c]!]!);
              return 'ok';
            }
            unknownPhase = false;
            e = next[0]!;
            continue;
          }
          bits[wordOf[i]!]! &= ~maskOf[i]!;
          // An op that fits and cannot change the state could go first in
          // any completion (see below); that configuration was already
          // explored and failed, so this node fails without its siblings.
          if (this.inert[i]) {
            e = NODE_FAILED;
            continue;
          }
        }
        e = next[e]!;
        continue;
      }
      // The first pending return: no op may go after it unless its own op
      // is linearized first.
      if (!unknownPhase && e !== NODE_FAILED) {
        unknownPhase = true;
        e = next[0]!;
        continue;
      }
      // Every candidate failed: undo the latest choice and try its next
      // sibling, in the phase it was chosen in. A choice that could not
      // change the state has no siblings worth trying: whatever order
      // completes the history from its node can be rearranged to start
      // with it, so its failure is the node's failure.
      if (this.bestPending) this.recordBest(stackEntry);
      for (;;) {
        if (stackEntry.length === 0) return 'illegal';
        const top = stackEntry.pop()!;
        state = stackState.pop()!;
        const i = entryOp[top]!;
        bits[wordOf[i]!]! &= ~maskOf[i]!;
        unknownPhase = returnEntry[i]! < 0;
        if (!unknownPhase) remaining++;
        this.unlift(top);
        if (!this.inert[i]) {
          e = next[top]!;
          break;
        }
      }
    }
  }

  linearization(): number[] {
    return this.finalOrder;
  }

  /**
   * Adds the configuration (bits, state) to the cache; false if one there
   * subsumes it. Besides the exact match of Lowe's memoization, a
   * configuration is subsumed by one with the same known-outcome ops and
   * state but only a subset of its unknown-outcome ops: those have no
   * return to force them, so anything that can follow the larger set can
   * follow the smaller one, which may skip the extra ops or do them. This
   * also prunes an unknown op that leaves the state as it was, since its
   * parent configuration is in the cache.
   */
  private remember(bits: Uint32Array, state: S): boolean {
    const { knownWords, words, model } = this;
    let h = model.hash(state);
    for (let w = 0; w < knownWords; w++) h = mix(h, bits[w]!);
    h = fmix(h);
    let groups = this.cache.get(h);
    if (!groups) this.cache.set(h, (groups = []));
    let group: Group<S> | undefined;
    for (const g of groups) {
      if (model.equal(g.state, state) && sameWords(g.known, bits, 0, knownWords)) {
        group = g;
        break;
      }
    }
    const unknown = bits.slice(knownWords, words);
    if (!group) {
      groups.push({ known: bits.slice(0, knownWords), state, unknown: [unknown] });
      this.cacheEntries++;
      return true;
    }
    for (const u of group.unknown) if (isSubset(u, unknown)) return false;
    // Keep the sets minimal: the new one subsumes its supersets.
    group.unknown = group.unknown.filter((u) => !isSubset(unknown, u));
    group.unknown.push(unknown);
    this.cacheEntries++;
    return true;
  }

  private lift(call: number): void {
    const { next, prev } = this;
    next[prev[call]!] = next[call]!;
    if (next[call]! >= 0) prev[next[call]!] = prev[call]!;
    const ret = this.returnEntry[this.entryOp[call]!]!;
    if (ret >= 0) {
      next[prev[ret]!] = next[ret]!;
      if (next[ret]! >= 0) prev[next[ret]!] = prev[ret]!;
    }
  }

  /** Undoes lift; the removed entries kept their own links, so relinking their neighbours suffices. */
  private unlift(call: number): void {
    const { next, prev } = this;
    const ret = this.returnEntry[this.entryOp[call]!]!;
    if (ret >= 0) {
      next[prev[ret]!] = ret;
      if (next[ret]! >= 0) prev[next[ret]!] = ret;
    }
    next[prev[call]!] = call;
    if (next[call]! >= 0) prev[next[call]!] = call;
  }

  private recordBest(stackEntry: number[]): void {
    this.bestPending = false;
    this.bestPrefix = stackEntry.slice(0, this.bestDepth).map((c) => this.entryOp[c]!);
    this.bestBits = new Uint32Array(this.words);
    for (const i of this.bestPrefix) this.bestBits[this.wordOf[i]!]! |= this.maskOf[i]!;
  }

  illegalReport(key: string): IllegalReport<S> {
    const { model, history, ops } = this;
    const linearized = (i: number) => (this.bestBits[this.wordOf[i]!]! & this.maskOf[i]!) !== 0;
    // Walk the entries in time order, skipping linearized ops: the calls
    // before the first unlinearized return are the ops that could go next,
    // and that return's op had to be among the ones placed before it.
    const candidates: number[] = [];
    let blocking = -1;
    for (let e = 1; e < this.entryOp.length; e++) {
      const i = this.entryOp[e]!;
      if (linearized(i)) continue;
      if (this.entryIsCall[e]) candidates.push(i);
      else {
        blocking = i;
        break;
      }
    }
    const fmtOp = (i: number) => formatOperation(model, history, ops[i]!);
    const fmtState = (s: S) => (model.formatState ? model.formatState(s) : JSON.stringify(s));
    const lines: string[] = [];
    lines.push(`not linearizable: ${describeKey(key)} (${this.n} ops)`);
    lines.push(`longest linearizable prefix: ${this.bestPrefix.length} of ${this.n} ops`);
    const shown = 25;
    const skip = Math.max(0, this.bestPrefix.length - shown);
    if (skip > 0) lines.push(`  … ${skip} earlier ops`);
    let s = model.init();
    const states: S[] = [];
    for (const i of this.bestPrefix) {
      const op = history[ops[i]!]!;
      s = model.step(s, op.input, op.output).next;
      states.push(s);
    }
    for (let k = skip; k < this.bestPrefix.length; k++) {
      lines.push(`  ${k + 1}. ${fmtOp(this.bestPrefix[k]!)}   => ${fmtState(states[k]!)}`);
    }
    // The search ran on rewritten inputs (Model.prepare); the report shows
    // the state the original inputs give.
    const state = this.bestPrefix.length > 0 ? states[states.length - 1]! : model.init();
    lines.push(`state after the prefix: ${fmtState(state)}`);
    if (blocking >= 0) {
      const b = history[ops[blocking]!]!;
      lines.push(
        `could not be placed next (#${ops[blocking]!} returned at t=${b.returnTime}, so it had to be by then):`,
      );
    } else {
      lines.push('could not be placed next:');
    }
    const lost: number[] = [];
    for (const i of candidates) {
      const op = history[ops[i]!]!;
      if (op.output === UNKNOWN) {
        lost.push(ops[i]!);
        continue;
      }
      const r = model.step(state, op.input, op.output);
      const why = r.ok
        ? 'fits here, but no continuation does'
        : model.explain
          ? model.explain(state, op.input, op.output)
          : 'not allowed in this state';
      lines.push(`  ${fmtOp(i)}: ${why}`);
    }
    if (lost.length > 0) {
      const listed = lost.slice(0, 20).map((i) => `#${i}`);
      if (lost.length > 20) listed.push(`… (${lost.length} in all)`);
      lines.push(`  and unknown-outcome ops that could take effect here, none of which helps: ${listed.join(', ')}`);
    }
    return {
      key,
      prefix: this.bestPrefix.map((i) => ops[i]!),
      state,
      unplaced: candidates.map((i) => ops[i]!),
      blocking: blocking >= 0 ? ops[blocking]! : -1,
      text: lines.join('\n'),
    };
  }
}

/** One round of MurmurHash3's body: whole-word inputs need real mixing. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  // Kept within small-integer range: V8 Map keys outside it are boxed.
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

function sameWords(a: Uint32Array, b: Uint32Array, from: number, to: number): boolean {
  for (let w = from; w < to; w++) if (a[w - from] !== b[w]) return false;
  return true;
}

function isSubset(a: Uint32Array, b: Uint32Array): boolean {
  for (let w = 0; w < a.length; w++) if ((a[w]! & ~b[w]!) !== 0) return false;
  return true;
}

export function formatOperation<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  index: number,
): string {
  const op = history[index]!;
  const input = model.formatInput ? model.formatInput(op.input) : JSON.stringify(op.input);
  const output =
    op.output === UNKNOWN ? UNKNOWN : model.formatOutput ? model.formatOutput(op.output) : JSON.stringify(op.output);
  const end = op.returnTime === Infinity ? '∞)' : `${op.returnTime}]`;
  return `#${index} client ${op.clientId} [${op.callTime}, ${end} ${input} -> ${output}`;
}

/**
 * Records a history as operations start and finish. Ops still pending when
 * history() is taken are outcome-unknown, which is what a client that
 * crashed or lost its connection leaves behind.
 */
export class HistoryRecorder<I, O> {
  private readonly ops: Operation<I, O>[] = [];

  /** Returns a handle for ok(). */
  invoke(clientId: number | string, time: number, input: I): number {
    this.ops.push({ clientId, callTime: time, returnTime: Infinity, input, output: UNKNOWN });
    return this.ops.length - 1;
  }

  ok(handle: number, time: number, output: O): void {
    const op = this.ops[handle];
    if (!op) throw new Error(`no operation ${handle}`);
    if (op.output !== UNKNOWN) throw new Error(`operation ${handle} already completed`);
    op.returnTime = time;
    op.output = output;
  }

  history(): Operation<I, O>[] {
    return this.ops.map((op) => ({ ...op }));
  }
}

// ---------------------------------------------------------------------------
// The znode model: each path is absent or holds data and a version.

export type ZnodeInput =
  | { op: 'create'; path: string; data: string }
  | { op: 'setData'; path: string; data: string; version: number }
  | { op: 'getData'; path: string }
  | { op: 'delete'; path: string; version: number };

export type ZnodeOutput =
  | 'ok'
  | 'NODEEXISTS'
  | 'NONODE'
  | 'BADVERSION'
  /** setData's success: the version the write produced. */
  | { ok: true; version: number }
  /** getData's success. */
  | { data: string; version: number };

export type ZnodeState = null | { readonly data: string; readonly version: number };

export type ZnodeOperation = Operation<ZnodeInput, ZnodeOutput>;

/** What input gives from state: the expected output and the next state. */
function znodeApply(state: ZnodeState, input: ZnodeInput): { out: ZnodeOutput; next: ZnodeState } {
  switch (input.op) {
    case 'create':
      return state ? { out: 'NODEEXISTS', next: state } : { out: 'ok', next: { data: input.data, version: 0 } };
    case 'setData': {
      if (!state) return { out: 'NONODE', next: state };
      if (input.version !== -1 && input.version !== state.version) return { out: 'BADVERSION', next: state };
      const version = state.version + 1;
      return { out: { ok: true, version }, next: { data: input.data, version } };
    }
    case 'getData':
      return state
        ? { out: { data: state.data, version: state.version }, next: state }
        : { out: 'NONODE', next: state };
    case 'delete':
      if (!state) return { out: 'NONODE', next: state };
      if (input.version !== -1 && input.version !== state.version) return { out: 'BADVERSION', next: state };
      return { out: 'ok', next: null };
  }
}

function sameOutput(a: ZnodeOutput, b: ZnodeOutput): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if ('ok' in a !== 'ok' in b) return false;
  if ('ok' in a) return a.version === b.version;
  return 'data' in b && a.data === b.data && a.version === b.version;
}

function formatZnodeOutput(o: ZnodeOutput): string {
  if (typeof o === 'string') return o;
  if ('ok' in o) return `ok version ${o.version}`;
  return `${JSON.stringify(o.data)} version ${o.version}`;
}

function stringHash(s: string, h: number): number {
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

/**
 * ZooKeeper znodes, partitioned by path. create starts a node at version 0
 * (also after a delete), each successful setData adds one. NOTEMPTY is not
 * modelled: tests use leaf paths. Reads must be linearizable reads (after
 * sync, or served by the leader with a read index) to be recorded at all.
 */
export const znodeModel: Model<ZnodeState, ZnodeInput, ZnodeOutput> = {
  init: () => null,
  step(state, input, output) {
    const r = znodeApply(state, input);
    return { ok: output === UNKNOWN || sameOutput(r.out, output), next: r.next };
  },
  equal: (a, b) => a === b || (a !== null && b !== null && a.version === b.version && a.data === b.data),
  hash: (s) => (s === null ? 0x5bd1e995 : stringHash(s.data, Math.imul(s.version + 1, 0x9e3779b1)) >>> 0),
  partition: (input) => input.path,
  // Failed writes change nothing; a successful create, setData or delete
  // always does, and an unknown one may.
  readOnly: (input, output) =>
    input.op === 'getData' || output === 'NODEEXISTS' || output === 'NONODE' || output === 'BADVERSION',
  // Data only matters through reads: written data that no read returned
  // can be any one value, which makes the states after such writes equal
  // and such writes interchangeable.
  prepare(history) {
    const seen = new Set<string>();
    for (const op of history) if (typeof op.output === 'object' && 'data' in op.output) seen.add(op.output.data);
    let hidden = '\u0000unread';
    while (seen.has(hidden)) hidden += '\u0000';
    return (input) =>
      (input.op === 'create' || input.op === 'setData') && !seen.has(input.data) ? { ...input, data: hidden } : input;
  },
  inputKey: (input) => JSON.stringify(input),
  formatInput(input) {
    switch (input.op) {
      case 'create':
        return `create(${JSON.stringify(input.data)})`;
      case 'setData':
        return `setData(${JSON.stringify(input.data)}, version ${input.version})`;
      case 'getData':
        return 'getData()';
      case 'delete':
        return `delete(version ${input.version})`;
    }
  },
  formatOutput: formatZnodeOutput,
  formatState: (s) => (s === null ? 'absent' : `${JSON.stringify(s.data)} version ${s.version}`),
  explain: (state, input) => `expected ${formatZnodeOutput(znodeApply(state, input).out)}`,
};

/** checkHistory with the znode model. */
export function checkZnodeHistory(history: readonly ZnodeOperation[], budget?: Budget): CheckResult<ZnodeState> {
  return checkHistory(znodeModel, history, budget);
}
