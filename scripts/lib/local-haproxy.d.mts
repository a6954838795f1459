import type { ChildProcess } from 'node:child_process';

export const HAPROXY_CONFIG: string;
export function hasHaproxy(): boolean;
export function startHaproxy(options: {
  dir: string;
  gateways: { restPort: number; mcpPort: number }[];
  replicas: { httpPort: number }[];
}): Promise<{ ports: { rest: number; mcp: number; clickhouse: number }; child: ChildProcess; stop(): Promise<void> }>;
