import type { ChildProcess } from 'node:child_process';

export function hasZooKeeper(): boolean;
export function startZooKeeper(options: { dir: string; timeoutMs?: number }): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }>;
