// Where a setting's text comes from: the variable itself (ADMIN_TOKEN) or a file named by
// the same name with `_FILE` (ADMIN_TOKEN_FILE=/run/secrets/admin_token), the way Docker
// and Kubernetes hand secrets to a container without putting them in its environment.
// Every setting has both spellings, so there is one rule to learn, not a list.
import { closeSync, openSync, readSync } from 'node:fs';

type Env = Record<string, string | undefined>;

/** Larger than any secret or PEM key; stops a mistake like `/dev/zero` from hanging start-up. */
export const MAX_SETTING_FILE_BYTES = 64 * 1024;

export const fileVariable = (name: string) => `${name}_FILE`;

export type SettingText =
  | { readonly text: string | undefined; readonly problem?: undefined }
  | { readonly text?: undefined; readonly problem: string };

/** A value; empty and whitespace-only count as unset. */
function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * The text of setting `name`, trimmed (a file's trailing newline is never part of a secret),
 * or a problem naming the setting and the path, never the contents.
 */
export function settingText(env: Env, name: string): SettingText {
  const direct = present(env[name]);
  const path = present(env[fileVariable(name)]);
  if (path === undefined) return { text: direct };
  if (direct !== undefined) return { problem: `${name} and ${fileVariable(name)} are both set: set one of them` };
  let contents: string;
  try {
    contents = readSmallFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { problem: `${fileVariable(name)} names a file that cannot be read ("${path}": ${code})` };
  }
  const text = present(contents);
  return text === undefined ? { problem: `${fileVariable(name)} names an empty file ("${path}")` } : { text };
}

function readSmallFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_SETTING_FILE_BYTES + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    if (length > MAX_SETTING_FILE_BYTES) throw new Error(`larger than ${MAX_SETTING_FILE_BYTES / 1024} KiB`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
