// Read requests answered from the local tree, with ZooKeeper's ACL checks and
// watch registration (FinalRequestProcessor's read cases).
import { JuteWriter } from '../jute/buffer.js';
import { Err, OpCode, Perms, ZkError, AddWatchMode } from '../jute/constants.js';
import { writeStat, type ACL, type Id, type Request } from '../jute/records.js';
import { writeChildren, writeGetACL, writeGetData, writeMultiHeader } from '../jute/replies.js';
import { aclPermits, checkAcl } from '../tree/acl.js';
import { statOf } from '../tree/datatree.js';
import type { WatchManager } from '../tree/watches.js';
import type { StateMachine } from '../txn/state.js';

export const READ_OPS = new Set<number>([
  OpCode.exists,
  OpCode.getData,
  OpCode.getACL,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getAllChildrenNumber,
  OpCode.getEphemerals,
  OpCode.multiRead,
  OpCode.whoAmI,
  OpCode.addWatch,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.sync,
  OpCode.ping,
]);

export interface ReadContext {
  sm: StateMachine;
  watches: WatchManager;
  watcher: number;
  sessionId: bigint;
  authIds: readonly Id[];
}

/** Writes the reply body into `w` and returns the error code (body is empty when non-zero). */
export function answerRead(ctx: ReadContext, req: Request, w: JuteWriter): number {
  try {
    readInto(ctx, req, w);
    return Err.OK;
  } catch (err) {
    if (err instanceof ZkError) return err.code;
    throw err;
  }
}

function nodeFor(ctx: ReadContext, path: string, perm: number) {
  const n = ctx.sm.tree.get(path);
  if (!n) throw new ZkError(Err.NONODE);
  checkAcl(ctx.sm.tree.aclOf(n), perm, ctx.authIds);
  return n;
}

function readInto(ctx: ReadContext, req: Request, w: JuteWriter): void {
  const tree = ctx.sm.tree;
  switch (req.op) {
    case OpCode.ping:
      return;
    case OpCode.sync:
      w.ustring(req.req.path);
      return;
    case OpCode.exists: {
      const { path, watch } = req.req;
      if (path.includes('\u0000')) throw new ZkError(Err.BADARGUMENTS);
      const n = tree.get(path);
      if (n) checkAcl(tree.aclOf(n), Perms.READ, ctx.authIds);
      // An exists watch is set whether or not the node is there: that is how NodeCreated is delivered.
      if (watch) ctx.watches.addData(path, ctx.watcher);
      if (!n) throw new ZkError(Err.NONODE);
      writeStat(w, statOf(n));
      return;
    }
    case OpCode.getData: {
      const n = nodeFor(ctx, req.req.path, Perms.READ);
      if (req.req.watch) ctx.watches.addData(req.req.path, ctx.watcher);
      writeGetData(w, n.dataOrNull, statOf(n));
      return;
    }
    case OpCode.getChildren:
    case OpCode.getChildren2: {
      const n = nodeFor(ctx, req.req.path, Perms.READ);
      if (req.req.watch) ctx.watches.addChild(req.req.path, ctx.watcher);
      writeChildren(w, tree.childrenOf(n), req.op === OpCode.getChildren2 ? statOf(n) : null);
      return;
    }
    case OpCode.getACL: {
      const n = nodeFor(ctx, req.req.path, Perms.READ | Perms.ADMIN);
      const acl = tree.aclOf(n);
      writeGetACL(w, aclPermits(acl, Perms.ADMIN, ctx.authIds) ? acl : maskDigests(acl), statOf(n));
      return;
    }
    case OpCode.getAllChildrenNumber: {
      nodeFor(ctx, req.req.path, Perms.READ);
      w.int(tree.countDescendants(req.req.path));
      return;
    }
    case OpCode.getEphemerals: {
      const mine = tree.ephemerals.get(ctx.sessionId);
      const prefix = req.req.prefixPath.trim();
      const out: string[] = [];
      if (mine)
        for (const p of mine) if (prefix === '' || prefix === '/' || p.startsWith(req.req.prefixPath)) out.push(p);
      w.stringVector(out);
      return;
    }
    case OpCode.whoAmI: {
      const ids = ctx.authIds;
      w.int(ids.length);
      for (const id of ids) w.ustring(id.scheme).ustring(id.scheme === 'digest' ? id.id.split(':')[0]! : id.id);
      return;
    }
    case OpCode.addWatch: {
      const { path, mode } = req.req;
      if (mode !== AddWatchMode.PERSISTENT && mode !== AddWatchMode.PERSISTENT_RECURSIVE) {
        throw new ZkError(Err.BADARGUMENTS);
      }
      ctx.watches.addPersistent(path, ctx.watcher, mode === AddWatchMode.PERSISTENT_RECURSIVE);
      w.int(0); // ErrorResponse{err: 0}
      return;
    }
    case OpCode.checkWatches:
      if (!ctx.watches.contains(req.req.path, req.req.type, ctx.watcher)) throw new ZkError(Err.NOWATCHER);
      return;
    case OpCode.removeWatches:
      if (!ctx.watches.remove(req.req.path, req.req.type, ctx.watcher)) throw new ZkError(Err.NOWATCHER);
      return;
    case OpCode.multiRead: {
      for (const op of req.req) {
        const start = w.length;
        try {
          if (op.op === OpCode.getData) {
            // ZooKeeper drops the watch flag of reads inside multiRead (MultiOperationRecord), so do we.
            const n = nodeFor(ctx, op.req.path, Perms.READ);
            writeMultiHeader(w, OpCode.getData, false, 0);
            writeGetData(w, n.dataOrNull, statOf(n));
          } else if (op.op === OpCode.getChildren) {
            const n = nodeFor(ctx, op.req.path, Perms.READ);
            writeMultiHeader(w, OpCode.getChildren, false, 0);
            writeChildren(w, tree.childrenOf(n), null);
          } else {
            throw new ZkError(Err.BADARGUMENTS);
          }
        } catch (err) {
          if (!(err instanceof ZkError)) throw err;
          w.truncate(start);
          writeMultiHeader(w, -1, false, err.code);
          w.int(err.code);
        }
      }
      writeMultiHeader(w, -1, true, -1);
      return;
    }
    default:
      throw new ZkError(Err.UNIMPLEMENTED);
  }
}

function maskDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) =>
    a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/, ':x') } } : a,
  );
}
