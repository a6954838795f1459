// Reads V8 .cpuprofile files (node --cpu-prof) and attributes self time to packages and functions.
import { readFileSync } from 'node:fs';
import { basename, relative, sep } from 'node:path';

const IDLE = new Set(['(idle)', '(program)']);

/** Which package or app folder a frame's code belongs to. */
function ownerOf({ url, functionName }, appDirs) {
  if (!url) return functionName === '(garbage collector)' ? 'V8: garbage collector' : IDLE.has(functionName) ? functionName : 'V8/native';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  if (path.startsWith('node:')) {
    const parts = path.slice(5).split('/');
    return `node: ${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  const modules = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + 14).split(sep);
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  for (const [label, dir] of Object.entries(appDirs)) {
    if (path.startsWith(dir)) return `${label}: ${relative(dir, path).split(sep)[0]}`;
  }
  return 'other';
}

const fileOf = (url) => basename(url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url);

const add = (map, key, value) => map.set(key, (map.get(key) ?? 0) + value);

/**
 * Self time per owner and per function over the samples taken between fromUs and toUs
 * (CLOCK_MONOTONIC µs, the clock of process.hrtime, so the window is the load run, not start-up).
 */
export function summarizeProfile(file, { fromUs, toUs, appDirs }) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByNode = new Map();
  let at = profile.startTime;
  profile.samples.forEach((nodeId, index) => {
    at += profile.timeDeltas[index];
    const next = profile.timeDeltas[index + 1] ?? 0;
    if (at >= fromUs && at <= toUs) add(selfByNode, nodeId, next);
  });
  const byOwner = new Map();
  const byFunction = new Map();
  let busyUs = 0;
  for (const [nodeId, us] of selfByNode) {
    const frame = nodes.get(nodeId).callFrame;
    const owner = ownerOf(frame, appDirs);
    if (IDLE.has(owner)) continue;
    busyUs += us;
    add(byOwner, owner, us);
    add(byFunction, `${frame.functionName || '(anonymous)'} (${owner}${frame.url ? `, ${fileOf(frame.url)}:${frame.lineNumber + 1}` : ''})`, us);
  }
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]);
  return { busyUs, owners: sorted(byOwner), functions: sorted(byFunction) };
}
