/**
 * The error every data reader throws for a file it cannot use.
 *
 * A data file goes wrong in many ways (truncated download, wrong file in the folder, a tool that
 * wrote a dtype halfprec does not know), and the fix depends on which file and which field. So
 * the error carries both, with what was expected and what was found, as fields a program can
 * test and as a message a person can act on.
 *
 * @module
 */

/** What was wrong with a data file: the field, what it should hold and what it held. */
export interface DataProblem {
  /** Where in the file: `header length`, `tensor "W3" field "dtype"`, `label 17`. */
  readonly field: string;
  /** What the field should hold: `one of F64, F32, F16, BF16`. */
  readonly expected: string;
  /** What it held, as it appears in the file when that is short: `"I8"`, `12 bytes`. */
  readonly found: string;
}

/**
 * A data file that is corrupt, truncated or not the file the reader expects.
 *
 * The message reads `Cannot read <source>: <field>: expected <expected>, found <found>`.
 *
 * @example Catch a corrupt file and see which field is wrong
 * ```ts
 * import { DataError, parseSafetensors } from "@halfprec/halfprec";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseSafetensors(new Uint8Array(3), "w.safetensors"), (e) => {
 *   assert(e instanceof DataError);
 *   assert.equal(e.source, "w.safetensors");
 *   assert.equal(e.message, "Cannot read w.safetensors: file size: expected at least 8 bytes, found 3 bytes");
 *   return true;
 * });
 * ```
 */
export class DataError extends Error {
  /** The file (or the name the caller gave the bytes). */
  readonly source: string;
  /** Where in the file, see {@linkcode DataProblem.field}. */
  readonly field: string;
  /** What the field should hold. */
  readonly expected: string;
  /** What it held. */
  readonly found: string;

  /**
   * An error about `source`, described by `problem`; `options.cause` keeps a lower-level error
   * (a JSON or decompression failure) for debugging.
   */
  constructor(source: string, problem: DataProblem, options?: ErrorOptions) {
    super(
      `Cannot read ${source}: ${problem.field}: expected ${problem.expected}, found ${problem.found}`,
      options,
    );
    this.name = "DataError";
    this.source = source;
    this.field = problem.field;
    this.expected = problem.expected;
    this.found = problem.found;
  }
}
