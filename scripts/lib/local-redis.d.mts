import type { ChildProcess } from 'node:child_process';

export function hasRedisServer(): boolean;
export function startRedis(options: { dir: string; port?: number }): Promise<{ port: number; url: string; child: ChildProcess; stop(): Promise<void> }>;
