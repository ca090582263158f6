// Every module's outcome per variant and response mode, and the module × variant table
// printed at the end of the run. A cell is PASS, WARN (passed, with what the official
// suite would flag as a warning), FAIL or SKIP; warnings, failures and skip reasons are
// footnotes, each distinct text once, so the table stays compact.

export type Status = 'PASS' | 'WARN' | 'FAIL' | 'SKIP';

export interface Outcome {
  readonly status: Status;
  /** Why it failed or was skipped, or the warnings (one line each). */
  readonly notes: readonly string[];
}

export interface TableLayout {
  readonly variants: readonly string[];
  /** Sections in order; a section's modules run once per response mode (one cell part each). */
  readonly sections: readonly { readonly title: string; readonly modes: readonly string[]; readonly modules: readonly string[] }[];
}

const key = (module: string, variant: string, mode: string) => `${module}\u0000${variant}\u0000${mode}`;

export class Results {
  readonly #outcomes = new Map<string, Outcome>();

  readonly layout: TableLayout;

  constructor(layout: TableLayout) {
    this.layout = layout;
  }

  record(module: string, variant: string, mode: string, outcome: Outcome): void {
    this.#outcomes.set(key(module, variant, mode), outcome);
  }

  /** The table as text: one row per module, one column per variant. */
  table(): string {
    const notes: string[] = [];
    const footnote = (text: string) => {
      const at = notes.indexOf(text);
      return at >= 0 ? at + 1 : notes.push(text);
    };
    const cell = (module: string, variant: string, mode: string) => {
      const outcome = this.#outcomes.get(key(module, variant, mode));
      if (!outcome) return '-';
      const marks = outcome.notes.map(footnote);
      return marks.length ? `${outcome.status}${marks.join(',')}` : outcome.status;
    };

    const rows: string[][] = [];
    for (const section of this.layout.sections) {
      rows.push([`${section.title}`]);
      for (const module of section.modules) {
        rows.push([`  ${module}`, ...this.layout.variants.map((v) => section.modes.map((m) => cell(module, v, m)).join(' | '))]);
      }
    }
    const header = ['module', ...this.layout.variants];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)));
    const line = (r: string[]) => (r.length === 1 ? r[0]! : r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
    const counts = new Map<Status, number>();
    for (const outcome of this.#outcomes.values()) counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
    const summary = (['PASS', 'WARN', 'SKIP', 'FAIL'] as const).map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ');
    return [
      '',
      'OpenID Foundation OP test plans, black-box equivalents against Postern (docs/conformance.md)',
      line(header),
      ...rows.map(line),
      `${summary}; notes:`,
      ...notes.map((text, i) => `  ${i + 1}. ${text}`),
      '',
    ].join('\n');
  }
}
