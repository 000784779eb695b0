// Types for the parts of node-zookeeper-client (which ships none) that the tests use.
declare module 'node-zookeeper-client' {
  import { EventEmitter } from 'node:events';

  export interface Stat {
    czxid: Buffer;
    mzxid: Buffer;
    ctime: Buffer;
    mtime: Buffer;
    version: number;
    cversion: number;
    aversion: number;
    ephemeralOwner: Buffer;
    dataLength: number;
    numChildren: number;
    pzxid: Buffer;
  }

  export class Id {
    constructor(scheme: string, id: string);
    scheme: string;
    id: string;
  }

  export class ACL {
    constructor(permission: number, id: Id);
    permission: number;
    id: Id;
  }

  export interface Event {
    type: number;
    name: string;
    path: string;
    getType(): number;
    getName(): string;
    getPath(): string;
  }

  export interface State {
    name: string;
    code: number;
    getName(): string;
    getCode(): number;
  }

  export interface Exception extends Error {
    code: number;
    name: string;
    path?: string;
    getCode(): number;
    getName(): string;
  }

  export interface OpResult {
    type: number;
    path?: string;
    stat?: Stat;
    err?: number;
  }

  export type Callback<T> = (error: Exception | Error | null, result: T) => void;
  export type Watcher = (event: Event) => void;

  export interface Transaction {
    create(path: string, data?: Buffer | null, acls?: ACL[], mode?: number): Transaction;
    check(path: string, version?: number): Transaction;
    setData(path: string, data: Buffer | null, version?: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(callback: (error: Exception | Error | null, results: OpResult[]) => void): void;
  }

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }

  export interface Client extends EventEmitter {
    connect(): void;
    close(): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    getSessionTimeout(): number;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: Callback<string>): void;
    remove(path: string, version: number, callback: (error: Exception | Error | null) => void): void;
    setData(path: string, data: Buffer | null, version: number, callback: Callback<Stat>): void;
    getData(
      path: string,
      watcher: Watcher | undefined,
      callback: (e: Exception | Error | null, data: Buffer, stat: Stat) => void,
    ): void;
    setACL(path: string, acls: ACL[], version: number, callback: Callback<Stat>): void;
    getACL(path: string, callback: (e: Exception | Error | null, acls: ACL[], stat: Stat) => void): void;
    exists(path: string, watcher: Watcher | undefined, callback: Callback<Stat | null>): void;
    getChildren(
      path: string,
      watcher: Watcher | undefined,
      callback: (e: Exception | Error | null, children: string[], stat: Stat) => void,
    ): void;
    mkdirp(path: string, callback: Callback<string>): void;
    transaction(): Transaction;
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;

  export const CreateMode: {
    PERSISTENT: number;
    PERSISTENT_SEQUENTIAL: number;
    EPHEMERAL: number;
    EPHEMERAL_SEQUENTIAL: number;
  };

  export const Permission: { READ: number; WRITE: number; CREATE: number; DELETE: number; ADMIN: number; ALL: number };

  export const State: {
    DISCONNECTED: State;
    SYNC_CONNECTED: State;
    AUTH_FAILED: State;
    CONNECTED_READ_ONLY: State;
    SASL_AUTHENTICATED: State;
    EXPIRED: State;
  };

  export const Event: {
    NODE_CREATED: number;
    NODE_DELETED: number;
    NODE_DATA_CHANGED: number;
    NODE_CHILDREN_CHANGED: number;
  };

  export const Exception: {
    OK: number;
    SYSTEM_ERROR: number;
    CONNECTION_LOSS: number;
    MARSHALLING_ERROR: number;
    UNIMPLEMENTED: number;
    OPERATION_TIMEOUT: number;
    BAD_ARGUMENTS: number;
    API_ERROR: number;
    NO_NODE: number;
    NO_AUTH: number;
    BAD_VERSION: number;
    NO_CHILDREN_FOR_EPHEMERALS: number;
    NODE_EXISTS: number;
    NOT_EMPTY: number;
    SESSION_EXPIRED: number;
    INVALID_CALLBACK: number;
    INVALID_ACL: number;
    AUTH_FAILED: number;
  };

  const zookeeper: {
    createClient: typeof createClient;
    ACL: typeof ACL & { OPEN_ACL_UNSAFE: ACL[]; CREATOR_ALL_ACL: ACL[]; READ_ACL_UNSAFE: ACL[] };
    Id: typeof Id & { ANYONE_ID_UNSAFE: Id; AUTH_IDS: Id };
    CreateMode: typeof CreateMode;
    Permission: typeof Permission;
    State: typeof State;
    Event: typeof Event;
    Exception: typeof Exception;
  };
  export default zookeeper;
}
