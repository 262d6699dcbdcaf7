/**
 * The contract between bench/run.ts and the scenario files: a scenario runs,
 * and returns a section of BENCHMARKS.md (tables, notes) plus budget verdicts.
 * Scenarios that cannot measure something say so ("not measured: why")
 * instead of inventing a number.
 */
export interface Table {
  caption?: string
  headers: string[]
  rows: string[][]
}

export interface BudgetVerdict {
  budget: string
  limit: string
  measured: string
  /** null = could not be measured (counts as a failure under --check). */
  pass: boolean | null
  /** For misses and unmeasured budgets: why, and what would fix it. */
  why?: string
}

export interface Section {
  title: string
  /** What was measured and how, in a sentence or two. */
  method: string
  tables: Table[]
  notes: string[]
  budgets: BudgetVerdict[]
  /** Machine-readable headline figures (echoed to stdout and JSON). */
  figures: Record<string, number | string>
}

export interface ScenarioContext {
  /** Fewer repetitions (smoke run); figures are noisier. */
  quick: boolean
  log(message: string): void
}

export interface Scenario {
  name: string
  run(ctx: ScenarioContext): Promise<Section>
}

/** An empty section to fill in. */
export function section(title: string, method: string): Section {
  return { title, method, tables: [], notes: [], budgets: [], figures: {} }
}

/** How many repetitions: the full count, or a small one under --quick. */
export function reps(ctx: ScenarioContext, full: number, quick: number): number {
  return ctx.quick ? quick : full
}
