/**
 * Output paths (`--out`, `--log`, `--report`): refused in one line naming the path, exit 2,
 * before any work; never an input; written whole through a temporary file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeAtomic } from "../data/_write_atomic.ts";
import { assertOneLineError, runCli } from "./_eval_cli.ts";

const WEIGHTS = fileURLToPath(new URL("../data/deepconvnet-book.safetensors", import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * A folder no file can be created in: mode 555, and `chattr +i` where that does not stop us
 * (root); undefined when neither holds here.
 */
async function readOnlyFolder(dir: string): Promise<string | undefined> {
  const folder = join(dir, "read-only");
  await Deno.mkdir(folder);
  await Deno.chmod(folder, 0o555);
  if (!await canCreate(folder)) return folder;
  await new Deno.Command("chattr", { args: ["+i", folder], stderr: "null" }).output()
    .catch(() => undefined);
  return await canCreate(folder) ? undefined : folder;
}

async function canCreate(folder: string): Promise<boolean> {
  const probe = join(folder, "probe");
  try {
    await Deno.writeFile(probe, new Uint8Array(0));
  } catch {
    return false;
  }
  await Deno.remove(probe);
  return true;
}

async function writable(folder: string): Promise<void> {
  await new Deno.Command("chattr", { args: ["-i", folder], stderr: "null" }).output()
    .catch(() => undefined);
  await Deno.chmod(folder, 0o755);
}

Deno.test("an output that cannot be written is refused before any work, naming its path", async () => {
  const dir = await Deno.makeTempDir();
  const readOnly = await readOnlyFolder(dir);
  try {
    const cases: [string, string[], RegExp][] = [
      ["search", ["--out", dir], /^search: --out \S+: is a folder, expected a file name$/],
      [
        "eval",
        ["--report", join(THIS_FILE, "r.html")],
        /^eval: --report \S+r\.html: \S+outputs_cli_test\.ts is not a folder$/,
      ],
      [
        "analyze",
        ["--report", join(dir, "none", "r.html")],
        /^analyze: --report \S+: folder \S+none does not exist$/,
      ],
      ["search", ["--log", "/dev/null"], /^search: --log \/dev\/null: is a device, FIFO/],
      [
        "search",
        ["--out", WEIGHTS],
        /^search: --out \S+: is the file --weights reads, expected a new name/,
      ],
      [
        "eval",
        ["--report", join(dir, "x.json"), "--config", join(dir, "x.json")],
        /^eval: --report \S+x\.json: is the file --config reads/,
      ],
      [
        "search",
        ["--out", join(dir, "a"), "--log", join(dir, "a")],
        /^search: --log \S+a: is also --out, expected a name of its own$/,
      ],
    ];
    if (readOnly) {
      cases.push([
        "search",
        ["--log", join(readOnly, "log.jsonl")],
        /^search: --log \S+log\.jsonl: cannot create a file in folder \S+read-only: /,
      ]);
    } else console.warn("No read-only folder here (chattr refused): that case is not run");
    for (const [command, args, pattern] of cases) {
      // A whole search would print progress lines: the one-line error shows none started.
      const size = command === "analyze" ? ["--images", "20"] : ["--limit", "20"];
      const out = await runCli(command, [...args, ...size, "--formats", "f32"]);
      assertOneLineError(out, 2, pattern);
    }
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort(),
      ["read-only"],
      "a refused output left a file behind",
    );
  } finally {
    if (readOnly) await writable(readOnly);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("search writes --out and --log whole, replacing an earlier log", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [out, log] = [join(dir, "chosen.json"), join(dir, "log.jsonl")];
    await Deno.writeTextFile(log, "an earlier log\n");
    const result = await runCli("search", [
      ...["--out", out, "--log", log, "--limit", "20", "--formats", "f32"],
      ...["--max-evaluations", "1", "--sensitivity-images", "2", "--workers", "1"],
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(out)), { default: "f32" });
    assert.match(await Deno.readTextFile(log), /^\{"type":"start"/);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort(),
      ["chosen.json", "log.jsonl"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAtomic() replaces the file a link points to, not the link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [target, link] = [join(dir, "target"), join(dir, "link")];
    await Deno.writeTextFile(target, "old");
    await Deno.symlink(target, link);
    await writeAtomic(link, new TextEncoder().encode("new"));
    assert.equal((await Deno.lstat(link)).isSymlink, true);
    assert.equal(await Deno.readTextFile(target), "new");
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort(), [
      "link",
      "target",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
