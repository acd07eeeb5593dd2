/**
 * Writing a file whole or not at all: a crash, a full disk or a kill leaves the old file or
 * the new one, never half of one.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/**
 * Writes `bytes` to `path` through a temporary file in the same folder (so that the rename
 * stays on one file system), flushed to disk before it is renamed. When `path` is a symbolic
 * link, the file it points to is replaced, not the link.
 */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const target = await Deno.realPath(path).catch(() => path);
  const temporary = join(dirname(target), `.${basename(target)}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeFile(temporary, bytes, { createNew: true });
    await flush(temporary);
    await Deno.rename(temporary, target);
  } catch (error) {
    await Deno.remove(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Makes the content of `path` durable. Without it, a crash soon after the rename can leave the
 * renamed file empty on some file systems; the file is closed before the rename, which Windows
 * requires.
 */
async function flush(path: string): Promise<void> {
  using file = await Deno.open(path, { write: true });
  await file.syncData();
}
