/**
 * What a search knows from earlier runs (a log) and from this one: the sensitivity, the float64
 * references and the trials, each reused instead of recomputed, and how many were reused.
 *
 * @module
 */
import type { ReferenceRun, SearchLogEntry, SearchSplit, Trial } from "./search_types.ts";

/** What earlier runs (a log) and this one know: sensitivity, references and trials. */
export class SearchMemory {
  readonly #references = new Map<SearchSplit, { run: ReferenceRun; predictions: number[] }>();
  readonly #trials = new Map<string, Trial>();
  readonly #fresh = new Set<object>();
  sensitivity?: { noise: (number | null)[][]; seconds: number };
  started = false;
  reused = 0;

  /** The memory of `previous`, refused (RangeError) when logged with other `settings`. */
  constructor(previous: readonly SearchLogEntry[], settings: Record<string, string | number>) {
    for (const entry of previous) {
      if (entry.type === "start") checkSettings(entry.settings, settings);
      this.remember(entry);
    }
    this.#fresh.clear();
  }

  /** Takes in a log entry, as read back or as just made. */
  remember(entry: SearchLogEntry): void {
    if (entry.type === "start") this.started = true;
    else if (entry.type === "sensitivity") this.sensitivity = entry;
    else if (entry.type === "reference") {
      this.#references.set(entry.run.split, entry);
      this.#fresh.add(entry);
    } else {
      this.#trials.set(`${entry.trial.split} ${entry.trial.formats.join()}`, entry.trial);
      this.#fresh.add(entry.trial);
    }
  }

  /** The float64 run on `split` and its predictions, when known. */
  reference(split: SearchSplit): { run: ReferenceRun; predictions: number[] } | undefined {
    return this.#count(this.#references.get(split));
  }

  /** The trial of `formats` on `split`, when known. */
  trial(split: SearchSplit, formats: readonly string[]): Trial | undefined {
    return this.#count(this.#trials.get(`${split} ${formats.join()}`));
  }

  /** Counts each remembered item the first time it is reused from a previous run. */
  #count<T extends object>(item: T | undefined): T | undefined {
    if (item && !this.#fresh.has(item)) {
      this.reused++;
      this.#fresh.add(item);
    }
    return item;
  }
}

/** Throws a RangeError naming the first setting in which `logged` and `current` differ. */
export function checkSettings(
  logged: Record<string, string | number>,
  current: Record<string, string | number>,
): void {
  for (const key of new Set([...Object.keys(logged), ...Object.keys(current)])) {
    if (logged[key] !== current[key]) {
      throw new RangeError(
        `Cannot resume: the log was written with ${key} ${JSON.stringify(logged[key])}, this ` +
          `search has ${JSON.stringify(current[key])}; run with the same settings or a new log`,
      );
    }
  }
}
