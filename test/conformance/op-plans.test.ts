// Black-box equivalents of the OpenID Foundation's OP certification plans (Basic, Config,
// Form Post, RP-Initiated Logout, Back-Channel Logout, 3rd Party-Initiated Login), run
// against a real Postern server per app variant and driven by openid-client and raw HTTP.
// Each module is one test per variant (and per response mode for the Basic plan), named
// after the official module; the module × variant table is printed when the run ends.
// docs/conformance.md says how to read it and how it maps to the official plans.
import { ModuleRun, Skipped } from './op-plans/module.ts';
import { OpUnderTest } from './op-plans/op-under-test.ts';
import { PLANS } from './op-plans/plans.ts';
import { Results, type Outcome } from './op-plans/results.ts';
import { VARIANTS } from './op-plans/variants.ts';

const results = new Results({
  variants: VARIANTS.map((v) => v.name),
  sections: PLANS.map((plan) => ({ title: `${plan.name} (${plan.modes.join(' | ')})`, modes: plan.modes, modules: plan.modules.map((m) => m.name) })),
});

/** The first line of an error: enough to tell failures apart in the table. */
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);

describe('OpenID Foundation OP test plans (black-box)', function () {
  this.timeout(30_000);
  after(() => void process.stdout.write(results.table()));

  for (const variant of VARIANTS) {
    describe(variant.name, () => {
      const op = new OpUnderTest(variant);
      before(() => op.start());
      after(() => op.stop());

      for (const plan of PLANS) {
        for (const mode of plan.modes) {
          describe(`${plan.name}${mode === 'form_post' ? ' (form_post)' : ''}`, () => {
            for (const module of plan.modules) {
              it(`${module.name} [${variant.name}${mode === 'form_post' ? ', form_post' : ''}]`, async function () {
                const run = new ModuleRun(op, mode);
                let outcome: Outcome;
                let failure: unknown;
                try {
                  if (op.setupError) throw new Error(`variant not set up: ${firstLine(op.setupError)}`);
                  await module.run(run);
                  outcome = { status: run.warnings.length ? 'WARN' : 'PASS', notes: run.warnings };
                } catch (err) {
                  if (err instanceof Skipped) outcome = { status: 'SKIP', notes: [err.message] };
                  else {
                    failure = err;
                    outcome = { status: 'FAIL', notes: [firstLine(err)] };
                  }
                }
                results.record(module.name, variant.name, mode, outcome);
                if (failure) throw failure;
                if (outcome.status === 'SKIP') this.skip();
              });
            }
          });
        }
      }
    });
  }
});
