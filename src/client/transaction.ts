// A builder for multi(): collect ops, then commit them atomically.
import type { CallOptions, CreateModeValue, Data, Op, OpResult, ACL } from './types.js';

interface MultiRunner {
  multi(ops: readonly Op[], options?: CallOptions): Promise<OpResult[]>;
}

export class Transaction {
  private readonly ops: Op[] = [];

  constructor(private readonly runner: MultiRunner) {}

  create(
    path: string,
    data?: Data,
    options: { mode?: CreateModeValue; acl?: readonly ACL[]; ttl?: number } = {},
  ): this {
    const op: Op = { type: 'create', path, data: data ?? null };
    if (options.mode !== undefined) op.mode = options.mode;
    if (options.acl !== undefined) op.acl = options.acl;
    if (options.ttl !== undefined) op.ttl = options.ttl;
    this.ops.push(op);
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Data, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  /** Fails the transaction unless the node's version is `version`. */
  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  get length(): number {
    return this.ops.length;
  }

  /** The ops collected so far (a copy). */
  toOps(): Op[] {
    return this.ops.slice();
  }

  /** Runs the ops as one multi(); see ZooKeeper.multi for the error on failure. */
  commit(options?: CallOptions): Promise<OpResult[]> {
    return this.runner.multi(this.ops.slice(), options);
  }
}
