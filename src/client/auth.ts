// Helpers for ZooKeeper's digest scheme.
import { createHash } from 'node:crypto';
import type { ACL } from '../jute/records.js';

/** The digest-scheme id for user:password: "user:base64(sha1(user:password))". */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`, 'utf8').digest('base64')}`;
}

/** An ACL entry granting `perms` to the digest user. */
export function digestAcl(user: string, password: string, perms: number): ACL {
  return { perms, id: { scheme: 'digest', id: digestId(user, password) } };
}
