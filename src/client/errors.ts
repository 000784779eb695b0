// ZooKeeper's error codes as one class per code, so callers can branch with
// instanceof or on `.code` (the wire value of KeeperException.Code).
import { Err, errName } from '../jute/constants.js';

/** KeeperException.Code names as the Java client prints them ("KeeperErrorCode = NoNode"). */
const javaNames: Record<number, string> = {
  [Err.OK]: 'ok',
  [Err.SYSTEMERROR]: 'SystemError',
  [Err.RUNTIMEINCONSISTENCY]: 'RuntimeInconsistency',
  [Err.DATAINCONSISTENCY]: 'DataInconsistency',
  [Err.CONNECTIONLOSS]: 'ConnectionLoss',
  [Err.MARSHALLINGERROR]: 'MarshallingError',
  [Err.UNIMPLEMENTED]: 'Unimplemented',
  [Err.OPERATIONTIMEOUT]: 'OperationTimeout',
  [Err.BADARGUMENTS]: 'BadArguments',
  [Err.UNKNOWNSESSION]: 'Unknown session',
  [Err.NEWCONFIGNOQUORUM]: 'New config has no quorum',
  [Err.RECONFIGINPROGRESS]: 'Another reconfiguration is in progress',
  [Err.APIERROR]: 'APIError',
  [Err.NONODE]: 'NoNode',
  [Err.NOAUTH]: 'NoAuth',
  [Err.BADVERSION]: 'BadVersion',
  [Err.NOCHILDRENFOREPHEMERALS]: 'NoChildrenForEphemerals',
  [Err.NODEEXISTS]: 'NodeExists',
  [Err.NOTEMPTY]: 'Directory not empty',
  [Err.SESSIONEXPIRED]: 'Session expired',
  [Err.INVALIDCALLBACK]: 'Invalid callback',
  [Err.INVALIDACL]: 'InvalidACL',
  [Err.AUTHFAILED]: 'AuthFailed',
  [Err.SESSIONMOVED]: 'Session moved',
  [Err.NOTREADONLY]: 'Not a read-only call',
  [Err.EPHEMERALONLOCALSESSION]: 'Ephemeral node on local session',
  [Err.NOWATCHER]: 'No such watcher',
  [Err.REQUESTTIMEOUT]: 'Request timeout',
  [Err.RECONFIGDISABLED]: 'Reconfig is disabled',
  [Err.SESSIONCLOSEDREQUIRESASLAUTH]: 'Session closed because client failed to authenticate',
  [Err.QUOTAEXCEEDED]: 'Quota has exceeded',
  [Err.THROTTLEDOP]: 'Op throttled due to high load',
};

/** Every error this client reports for a ZooKeeper result carries the wire code. */
export class ZooKeeperError extends Error {
  /** KeeperException.Code wire value, e.g. -101 for NONODE. */
  readonly code: number;
  /** The code's name in ZooKeeper's enum, e.g. 'NONODE'. */
  readonly codeName: string;
  /** The znode path the request was about (as the caller gave it, without chroot), if any. */
  readonly path: string | undefined;
  /** Set by multi(): the index of the op that failed. */
  declare opIndex?: number;
  /** Set by multi(): each op's code (0 for ops that would have succeeded, -2 for ops not tried). */
  declare results?: readonly number[];

  constructor(code: number, message?: string, path?: string) {
    super(message ?? defaultMessage(code, path));
    this.code = code;
    this.codeName = errName(code);
    this.path = path;
    this.name = new.target.name;
  }
}

function defaultMessage(code: number, path: string | undefined): string {
  const base = `KeeperErrorCode = ${javaNames[code] ?? `Unknown error ${code}`}`;
  return path === undefined ? base : `${base} for ${path}`;
}

type ErrorClass = new (message?: string, path?: string) => ZooKeeperError;

function define(code: number): ErrorClass {
  return class extends ZooKeeperError {
    constructor(message?: string, path?: string) {
      super(code, message, path);
    }
  };
}

// Each class is declared by name (not only built by define()) so stack traces,
// `err.name` and editors show NoNodeError rather than an anonymous class.
export class SystemError extends define(Err.SYSTEMERROR) {}
export class RuntimeInconsistencyError extends define(Err.RUNTIMEINCONSISTENCY) {}
export class DataInconsistencyError extends define(Err.DATAINCONSISTENCY) {}
export class ConnectionLossError extends define(Err.CONNECTIONLOSS) {}
export class MarshallingError extends define(Err.MARSHALLINGERROR) {}
export class UnimplementedError extends define(Err.UNIMPLEMENTED) {}
export class OperationTimeoutError extends define(Err.OPERATIONTIMEOUT) {}
export class BadArgumentsError extends define(Err.BADARGUMENTS) {}
export class UnknownSessionError extends define(Err.UNKNOWNSESSION) {}
export class NewConfigNoQuorumError extends define(Err.NEWCONFIGNOQUORUM) {}
export class ReconfigInProgressError extends define(Err.RECONFIGINPROGRESS) {}
export class APIError extends define(Err.APIERROR) {}
export class NoNodeError extends define(Err.NONODE) {}
export class NoAuthError extends define(Err.NOAUTH) {}
export class BadVersionError extends define(Err.BADVERSION) {}
export class NoChildrenForEphemeralsError extends define(Err.NOCHILDRENFOREPHEMERALS) {}
export class NodeExistsError extends define(Err.NODEEXISTS) {}
export class NotEmptyError extends define(Err.NOTEMPTY) {}
export class SessionExpiredError extends define(Err.SESSIONEXPIRED) {}
export class InvalidCallbackError extends define(Err.INVALIDCALLBACK) {}
export class InvalidACLError extends define(Err.INVALIDACL) {}
export class AuthFailedError extends define(Err.AUTHFAILED) {}
export class SessionMovedError extends define(Err.SESSIONMOVED) {}
export class NotReadOnlyError extends define(Err.NOTREADONLY) {}
export class EphemeralOnLocalSessionError extends define(Err.EPHEMERALONLOCALSESSION) {}
export class NoWatcherError extends define(Err.NOWATCHER) {}
export class RequestTimeoutError extends define(Err.REQUESTTIMEOUT) {}
export class ReconfigDisabledError extends define(Err.RECONFIGDISABLED) {}
export class SessionClosedRequireSaslAuthError extends define(Err.SESSIONCLOSEDREQUIRESASLAUTH) {}
export class QuotaExceededError extends define(Err.QUOTAEXCEEDED) {}
export class ThrottledOpError extends define(Err.THROTTLEDOP) {}

/**
 * Calls after close() fail with this. It is a SessionExpiredError (code -112),
 * as in the Java client, because the session is gone for this handle.
 */
export class ClientClosedError extends SessionExpiredError {
  constructor(message = 'the client was closed', path?: string) {
    super(message, path);
  }
}

/**
 * The request queue is full: the socket is slower than the caller, or the client
 * is disconnected. Code THROTTLEDOP (-127), so isRetryable() says yes: back off.
 */
export class QueueFullError extends ThrottledOpError {}

const byCode = new Map<number, ErrorClass>([
  [Err.SYSTEMERROR, SystemError],
  [Err.RUNTIMEINCONSISTENCY, RuntimeInconsistencyError],
  [Err.DATAINCONSISTENCY, DataInconsistencyError],
  [Err.CONNECTIONLOSS, ConnectionLossError],
  [Err.MARSHALLINGERROR, MarshallingError],
  [Err.UNIMPLEMENTED, UnimplementedError],
  [Err.OPERATIONTIMEOUT, OperationTimeoutError],
  [Err.BADARGUMENTS, BadArgumentsError],
  [Err.UNKNOWNSESSION, UnknownSessionError],
  [Err.NEWCONFIGNOQUORUM, NewConfigNoQuorumError],
  [Err.RECONFIGINPROGRESS, ReconfigInProgressError],
  [Err.APIERROR, APIError],
  [Err.NONODE, NoNodeError],
  [Err.NOAUTH, NoAuthError],
  [Err.BADVERSION, BadVersionError],
  [Err.NOCHILDRENFOREPHEMERALS, NoChildrenForEphemeralsError],
  [Err.NODEEXISTS, NodeExistsError],
  [Err.NOTEMPTY, NotEmptyError],
  [Err.SESSIONEXPIRED, SessionExpiredError],
  [Err.INVALIDCALLBACK, InvalidCallbackError],
  [Err.INVALIDACL, InvalidACLError],
  [Err.AUTHFAILED, AuthFailedError],
  [Err.SESSIONMOVED, SessionMovedError],
  [Err.NOTREADONLY, NotReadOnlyError],
  [Err.EPHEMERALONLOCALSESSION, EphemeralOnLocalSessionError],
  [Err.NOWATCHER, NoWatcherError],
  [Err.REQUESTTIMEOUT, RequestTimeoutError],
  [Err.RECONFIGDISABLED, ReconfigDisabledError],
  [Err.SESSIONCLOSEDREQUIRESASLAUTH, SessionClosedRequireSaslAuthError],
  [Err.QUOTAEXCEEDED, QuotaExceededError],
  [Err.THROTTLEDOP, ThrottledOpError],
]);

/** The typed error for a ZooKeeper code (a plain ZooKeeperError for codes this client does not know). */
export function createError(code: number, path?: string, message?: string): ZooKeeperError {
  const C = byCode.get(code);
  return C ? new C(message, path) : new ZooKeeperError(code, message, path);
}

const retryable = new Set<number>([
  Err.CONNECTIONLOSS,
  Err.OPERATIONTIMEOUT,
  Err.SESSIONMOVED,
  Err.REQUESTTIMEOUT,
  Err.THROTTLEDOP,
  Err.NEWCONFIGNOQUORUM,
  Err.RECONFIGINPROGRESS,
]);

/**
 * True when the same call on the same client may succeed later: the connection
 * dropped or the server was busy. A retried write may already have been applied
 * (a create retried after CONNECTIONLOSS can fail with NODEEXISTS). Session expiry
 * is not retryable on this handle: make a new client.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof ZooKeeperError && retryable.has(err.code);
}
