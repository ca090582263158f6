// The OP certification plans this suite mirrors, in the order the table shows them
// (openid-certification/conformance-suite, src/main/java/net/openid/conformance/openid/):
// oidcc-basic-certification-test-plan and oidcc-formpost-basic-certification-test-plan,
// oidcc-config-certification-test-plan, oidcc-rp-initiated-logout-certification-test-plan,
// oidcc-backchannel-rp-initiated-logout-certification-test-plan,
// oidcc-3rdparty-init-login-certification-test-plan.
import { BASIC_MODULES } from './basic-plan.ts';
import { BACKCHANNEL_DISCOVERY, CONFIG_MODULES, RP_LOGOUT_DISCOVERY } from './discovery-modules.ts';
import { BACKCHANNEL_MODULES, END_SESSION_BY_POST, RP_LOGOUT_MODULES } from './logout-modules.ts';
import type { Plan } from './module.ts';
import { PROMPT_NONE_AFTER_REVOCATION, REDIRECT_URI_REQUIRED } from './other-checks.ts';
import { THIRD_PARTY_MODULES } from './third-party-modules.ts';

export const PLANS: readonly Plan[] = [
  { name: 'Basic OP | Form Post OP', modes: ['default', 'form_post'], modules: BASIC_MODULES },
  { name: 'Config OP', modes: ['default'], modules: CONFIG_MODULES },
  { name: 'RP-Initiated Logout OP', modes: ['default'], modules: [RP_LOGOUT_DISCOVERY, ...RP_LOGOUT_MODULES] },
  { name: 'Back-Channel Logout OP', modes: ['default'], modules: [BACKCHANNEL_DISCOVERY, ...BACKCHANNEL_MODULES] },
  { name: '3rd Party-Init OP', modes: ['default'], modules: THIRD_PARTY_MODULES },
  // Not in a certification plan: a module of oidcc-test-plan, a MUST no module checks, and
  // a rule of Postern's own.
  {
    name: 'Other checks',
    modes: ['default'],
    modules: [REDIRECT_URI_REQUIRED, END_SESSION_BY_POST, PROMPT_NONE_AFTER_REVOCATION],
  },
];
