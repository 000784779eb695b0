// Server-side encoders for reply bodies (FinalRequestProcessor's response records).
import { JuteWriter } from './buffer.js';
import { ACL, Stat, writeAcls, writeStat } from './records.js';

export function writeReplyHeader(w: JuteWriter, xid: number, zxid: number, err: number): void {
  w.int(xid).long(zxid).int(err);
}

export function writeWatcherEvent(w: JuteWriter, type: number, state: number, path: string): void {
  w.int(type).int(state).ustring(path);
}

export function writeGetData(w: JuteWriter, data: Uint8Array | null, stat: Stat): void {
  w.buffer(data);
  writeStat(w, stat);
}

export function writeGetACL(w: JuteWriter, acl: readonly ACL[], stat: Stat): void {
  writeAcls(w, acl);
  writeStat(w, stat);
}

export function writeChildren(w: JuteWriter, children: readonly string[], stat: Stat | null): void {
  w.stringVector(children);
  if (stat) writeStat(w, stat);
}

export function writeMultiHeader(w: JuteWriter, type: number, done: boolean, err: number): void {
  w.int(type).bool(done).int(err);
}
