// An app's settings: defaults, allowed ranges and the rules between them. The admin API's
// input parser and the services read them from here.
import { badRequest } from '../errors.ts';
import type { AppSettings } from '../storage/ports.ts';

export const DEFAULT_SETTINGS: Required<AppSettings> = {
  id_token_ttl: 1800,
  magic_link_ttl: 900,
  refresh_token_idle_ttl: 604800,
  refresh_token_max_ttl: 7776000,
  // Long enough for a client's retry after a lost response or a 503 and for a store to
  // fail over; short enough that a used token is worth nothing to a thief half a minute
  // after the client used it (docs/integrating.md, "Refresh tokens").
  refresh_token_reuse_interval: 30,
  // Email bombing stops at a handful of links per address; a shared office IP still
  // signs in; one network (IPv4 /24, IPv6 /48) gets a tenth of the app's budget, so it
  // takes ten networks to use it up; the app-wide ceiling caps the damage of a
  // distributed attack.
  max_links_per_address: 5,
  max_links_per_ip: 30,
  max_links_per_network: 500,
  max_links_per_app: 5000,
};

/**
 * Allowed ranges (TTLs in seconds, limits in links per window); `refresh_token_idle_ttl`
 * must also not exceed the max.
 */
export const SETTING_RANGES: Record<keyof AppSettings, readonly [number, number]> = {
  id_token_ttl: [60, 86400],
  magic_link_ttl: [60, 86400],
  refresh_token_idle_ttl: [60, 31536000],
  refresh_token_max_ttl: [60, 31536000],
  refresh_token_reuse_interval: [0, 300],
  max_links_per_address: [1, 1000],
  max_links_per_ip: [1, 100000],
  max_links_per_network: [1, 10000000],
  max_links_per_app: [1, 10000000],
};

/** The settings of a record, with defaults for fields stored before they existed. */
export function settingsOf(settings: AppSettings): Required<AppSettings> {
  return { ...DEFAULT_SETTINGS, ...settings };
}

export function checkSettings(settings: AppSettings): AppSettings {
  if (settings.refresh_token_idle_ttl > settings.refresh_token_max_ttl) {
    throw badRequest('refresh_token_idle_ttl must not exceed refresh_token_max_ttl.');
  }
  return settings;
}
