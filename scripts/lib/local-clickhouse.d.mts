import type { ChildProcess } from 'node:child_process';

export interface LocalClickHouse {
  url: string;
  httpPort: number;
  tcpPort: number;
  pid: number | undefined;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export const INSTALL_HINT: string;
export function findClickHouseServer(): string[] | undefined;
export function hasClickHouseServer(): boolean;
export function freePort(): Promise<number>;
export function freeStablePort(): Promise<number>;
export interface ReplicaOf {
  name: string;
  zookeeperPort: number;
  replica: string;
  interserverPort: number;
  /** TCP ports of every replica of the one shard, this one's included. */
  replicas: number[];
}
export function startLocalClickHouse(options?: { dir?: string; httpPort?: number; tcpPort?: number; timezone?: string; cluster?: ReplicaOf; timeoutMs?: number }): Promise<LocalClickHouse>;
