// The OP certification plans this suite mirrors, in the order the table shows them
// (openid-certification/conformance-suite, src/main/java/net/openid/conformance/openid/*TestPlan.java).
import { BASIC_MODULES, REDIRECT_URI_REQUIRED } from './basic-plan.ts';
import { BACKCHANNEL_DISCOVERY, CONFIG_MODULES, RP_LOGOUT_DISCOVERY } from './discovery-modules.ts';
import { BACKCHANNEL_MODULES, END_SESSION_BY_POST, PROMPT_NONE_AFTER_REVOCATION, RP_LOGOUT_MODULES } from './logout-modules.ts';
import type { Plan } from './module.ts';
import { THIRD_PARTY_MODULES } from './third-party-modules.ts';

export const PLANS: readonly Plan[] = [
  { name: 'Basic OP | Form Post OP', testPlan: 'oidcc-basic-certification-test-plan | oidcc-formpost-basic-certification-test-plan', modes: ['default', 'form_post'], modules: BASIC_MODULES },
  { name: 'Config OP', testPlan: 'oidcc-config-certification-test-plan', modes: ['default'], modules: CONFIG_MODULES },
  { name: 'RP-Initiated Logout OP', testPlan: 'oidcc-rp-initiated-logout-certification-test-plan', modes: ['default'], modules: [RP_LOGOUT_DISCOVERY, ...RP_LOGOUT_MODULES] },
  { name: 'Back-Channel Logout OP', testPlan: 'oidcc-backchannel-rp-initiated-logout-certification-test-plan', modes: ['default'], modules: [BACKCHANNEL_DISCOVERY, ...BACKCHANNEL_MODULES] },
  { name: '3rd Party-Init OP', testPlan: 'oidcc-3rdparty-init-login-certification-test-plan', modes: ['default'], modules: THIRD_PARTY_MODULES },
  // Not in a certification plan: a module of oidcc-test-plan, a MUST no module checks, and
  // a rule of Postern's own.
  {
    name: 'Other checks',
    testPlan: 'oidcc-test-plan; RP-Initiated Logout §2; Postern',
    modes: ['default'],
    modules: [REDIRECT_URI_REQUIRED, END_SESSION_BY_POST, PROMPT_NONE_AFTER_REVOCATION],
  },
];
