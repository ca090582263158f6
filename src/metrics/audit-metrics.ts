// What the audit trail tells the metrics: each step of the hosted sign-in is recorded as an
// audit event (src/sign-in/, the mail queue's outcomes), so counting those events is the
// one source of the funnel; the metrics never count a step a second way.
import type { AuditEvent } from '../audit.ts';
import type { QueueName } from './metrics.ts';

/** Audit event types that are one funnel step whatever their outcome. */
const STEPS: Readonly<Record<string, string>> = {
  'link.requested': 'link_requested',
  'link.rate_limited': 'link_rate_limited',
  'mail.sent': 'link_mailed',
  'mail.failed': 'mail_failed',
  'link.accepted': 'link_confirmed',
  'link.rejected': 'link_confirm_refused',
  'code.accepted': 'code_right',
};

/** The funnel step an audit event is, if any. */
export function funnelStep(event: AuditEvent): string | undefined {
  // A scanner or an old mail opening a dead link is not a step forward.
  if (event.type === 'link.opened') return event.outcome === 'success' ? 'link_opened' : 'link_open_refused';
  // "wrong": compared and did not match; otherwise refused before comparing (locked, rate limited, expired).
  if (event.type === 'code.rejected') return event.reason === 'wrong' ? 'code_wrong' : 'code_refused';
  return STEPS[event.type];
}

/** Every sign-in ends with a confirmed link or a right code: the completions. */
export function completesSignIn(event: AuditEvent): boolean {
  return event.type === 'link.accepted' || event.type === 'code.accepted';
}

/** The queue whose message an audit event reports given up, if any. */
export function givenUpQueue(event: AuditEvent): QueueName | undefined {
  if (event.type === 'mail.failed') return 'mail';
  if (event.type === 'logout.backchannel_failed') return 'backchannel_logout';
  return undefined;
}
