// Reading a V8 CPU profile (`--cpu-prof`), for the scripts that summarise one
// (cpu-profile.ts, overload-long-tasks.ts).
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ReadProfile {
  readonly profile: Profile;
  readonly nodes: ReadonlyMap<number, ProfileNode>;
  /** Each node's caller. */
  readonly parents: ReadonlyMap<number, number>;
}

export function readProfile(file: string): ReadProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  return { profile, nodes: new Map(profile.nodes.map((n) => [n.id, n])), parents };
}

export const shortUrl = (url: string) => url.replace(/.*\/(node_modules|src|bench)\//, '$1/');
export const fnName = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
