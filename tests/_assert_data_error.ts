/**
 * The one check every corrupt-input test makes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { DataError } from "../data/data_error.ts";

/** The DataError a test expects; `found` may be a pattern when it quotes a platform message. */
export interface ExpectedDataError {
  source: string;
  field: string;
  expected: string;
  found: string | RegExp;
}

/**
 * Asserts that `error` is a DataError with these fields and a message built from all four,
 * and returns true (so it can be the validator of `assert.throws` and `assert.rejects`).
 */
export function assertDataError(error: unknown, want: ExpectedDataError): true {
  assert(error instanceof DataError, `expected a DataError, got ${error}`);
  assert.equal(error.source, want.source);
  assert.equal(error.field, want.field);
  assert.equal(error.expected, want.expected);
  if (typeof want.found === "string") assert.equal(error.found, want.found);
  else assert.match(error.found, want.found);
  assert.equal(
    error.message,
    `Cannot read ${want.source}: ${want.field}: expected ${want.expected}, found ${error.found}`,
  );
  return true;
}
