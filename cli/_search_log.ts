/**
 * The search's trial log, JSON Lines: the entries of an earlier search to resume, and each new
 * entry appended as the search goes.
 *
 * @module
 */
import { parseSearchLog, type SearchLogEntry } from "../analysis/search.ts";
import { UsageError } from "./_cli.ts";
import { writeOutput } from "./_outputs.ts";

/** The log at a path, open for the search. */
export interface SearchLog {
  /** The entries it held, with `--resume` (none otherwise). */
  previous: SearchLogEntry[];
  /** Appends an entry. */
  append(entry: SearchLogEntry): Promise<void>;
}

/**
 * The log at `path`, rewritten to hold only its entries when `resume` (else emptied): a usage
 * error when there is no log to resume.
 */
export async function openSearchLog(path: string, resume: boolean): Promise<SearchLog> {
  const previous = resume ? await readLog(path) : [];
  await writeOutput("log", path, previous.map((e) => JSON.stringify(e) + "\n").join(""));
  return {
    previous,
    append: (entry) => Deno.writeTextFile(path, JSON.stringify(entry) + "\n", { append: true }),
  };
}

/** The entries of the log at `path`, for --resume; a usage error when there is none. */
async function readLog(path: string): Promise<SearchLogEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`--resume: there is no log ${path} to resume (see --log)`);
    }
    throw error;
  }
  return parseSearchLog(text, path);
}
