import type { ChildProcess } from 'node:child_process';

export function hasHaproxy(): boolean;
export function startHaproxy(options: {
  dir: string;
  proxies: { name: string; check: string; servers: { port: number; checkPort?: number }[] }[];
}): Promise<{ ports: Record<string, number>; child: ChildProcess; stop(): Promise<void> }>;
