import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bf16, f16, f16Polyfill, f32, f64, type Storage, STORAGES } from "../layers/storage/mod.ts";
import { Tensor } from "../layers/tensor.ts";
import { DataError } from "../data/data_error.ts";
import { readSafetensorsFile, writeSafetensorsFile } from "../data/files.ts";
import { parseSafetensors, serializeSafetensors } from "../data/safetensors.ts";
import { assertDataError, type ExpectedDataError } from "./_assert_data_error.ts";
import { LOGITS, WEIGHTS } from "./_data.ts";

/**
 * Bit patterns a value-based copy could lose, per dtype: a quiet NaN with a payload, a
 * signalling NaN, a negative NaN, -0, the smallest subnormal and +Infinity.
 */
const TRICKY_CODES: Record<string, bigint[]> = {
  F64: [
    0x7ff8000000000001n,
    0x7ff0000000000001n,
    0xfff8000000000000n,
    0x8000000000000000n,
    0x1n,
    0x7ff0000000000000n,
  ],
  F32: [0x7fc00001n, 0x7f800001n, 0xffc00000n, 0x80000000n, 0x1n, 0x7f800000n],
  F16: [0x7e01n, 0x7c01n, 0xfe00n, 0x8000n, 0x1n, 0x7c00n],
  BF16: [0x7fc1n, 0x7f81n, 0xffc0n, 0x8000n, 0x1n, 0x7f80n],
};

/** A tensor of `storage` whose elements are the little-endian `codes`. */
function tensorOfCodes(storage: Storage, shape: number[], codes: bigint[]): Tensor {
  const data = storage.alloc(codes.length);
  const bytes = bytesOf(data);
  codes.forEach((code, i) => {
    for (let k = 0; k < storage.bytesPerElement; k++) {
      bytes[i * storage.bytesPerElement + k] = Number((code >> BigInt(8 * k)) & 0xffn);
    }
  });
  return new Tensor(storage, shape, data);
}

function bytesOf(data: Tensor["data"]): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The header of a safetensors file, as text. */
function headerOf(file: Uint8Array): string {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(file.subarray(8, 8 + length));
}

/** A safetensors file with this header text and `dataLength` zero bytes of data. */
function fileWith(header: string | Uint8Array, dataLength = 0): Uint8Array {
  const text = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const file = new Uint8Array(8 + text.length + dataLength);
  new DataView(file.buffer).setBigUint64(0, BigInt(text.length), true);
  file.set(text, 8);
  return file;
}

Deno.test("a round trip keeps every bit in every storage, NaN payloads included", () => {
  for (const storage of STORAGES) {
    const original = tensorOfCodes(storage, [2, 3], TRICKY_CODES[storage.dtype]);
    const file = serializeSafetensors({ x: original });
    const back = parseSafetensors(file, "codes.safetensors").tensors.get("x");
    assert(back, storage.name);
    assert.deepEqual(back.shape, [2, 3]);
    assert.equal(back.storage.dtype, storage.dtype);
    assert.deepEqual(bytesOf(back.data), bytesOf(original.data), storage.name);
    assert.deepEqual(serializeSafetensors({ x: back }), file, storage.name);
  }
});

Deno.test("serializeSafetensors() puts the widest elements first, so every tensor is aligned", () => {
  const tensors = {
    a: Tensor.from(bf16, [3], [1, -2, 0.5]),
    b: Tensor.from(f64, [2], [Math.PI, -Math.E]),
    c: Tensor.from(f32, [1, 1], [0.1]),
    d: Tensor.from(f16, [], [65504]),
  };
  const file = serializeSafetensors(tensors);
  assert.match(headerOf(file), /"b":\{"dtype":"F64","shape":\[2\],"data_offsets":\[0,16\]\}/);
  assert.match(headerOf(file), /"a":\{"dtype":"BF16","shape":\[3\],"data_offsets":\[20,26\]\}/);
  const back = parseSafetensors(file, "mixed.safetensors").tensors;
  for (const [name, tensor] of Object.entries(tensors)) {
    const loaded = back.get(name);
    assert(loaded, name);
    assert.equal(loaded.storage, tensor.storage);
    assert.deepEqual(loaded.toFloat64(), tensor.toFloat64());
  }
});

Deno.test("f16-polyfill tensors save as F16 and load into the native f16", () => {
  const original = Tensor.from(f16Polyfill, [4], [0.1, -1, 65504, 2 ** -24]);
  const file = serializeSafetensors({ x: original });
  assert.match(headerOf(file), /"dtype":"F16"/);
  const back = parseSafetensors(file, "polyfill.safetensors").tensors.get("x");
  assert.equal(back?.storage, f16);
  assert.deepEqual(bytesOf(back.data), bytesOf(original.data));
});

Deno.test("serializeSafetensors() writes tensors in name order and pads the header with spaces", () => {
  const one = Tensor.from(f32, [1], [1]);
  const file = serializeSafetensors(new Map([["9", one], ["b", one], ["10", one], ["a", one]]));
  const header = headerOf(file);
  assert.equal(header.length % 8, 0);
  assert.equal(header, header.trimEnd().padEnd(header.length, " "));
  const offsets = [...header.matchAll(/"(\w+)":\{[^}]*"data_offsets":\[(\d+)/g)]
    .map(([, name, begin]) => [name, Number(begin)]);
  assert.deepEqual(offsets, [["10", 0], ["9", 4], ["a", 8], ["b", 12]]);
});

Deno.test("metadata survives a round trip, and no metadata reads as empty", () => {
  const x = { x: Tensor.from(f64, [1], [1]) };
  const metadata = { origin: "test", "2": "integer-like key", empty: "" };
  assert.deepEqual(
    parseSafetensors(serializeSafetensors(x, metadata), "m.safetensors").metadata,
    metadata,
  );
  assert.deepEqual(parseSafetensors(serializeSafetensors(x), "m.safetensors").metadata, {});
  assert.equal(parseSafetensors(serializeSafetensors({}), "m.safetensors").tensors.size, 0);
});

Deno.test("serializeSafetensors() rejects the reserved name and non-string metadata", () => {
  const x = Tensor.from(f64, [1], [1]);
  assert.throws(() => serializeSafetensors({ __metadata__: x }), TypeError);
  const numbers = { n: 3 } as unknown as Record<string, string>;
  assert.throws(() => serializeSafetensors({ x }, numbers), TypeError);
});

/** A corrupt file and the error it must give. */
interface Corrupt extends Omit<ExpectedDataError, "source"> {
  name: string;
  file: Uint8Array;
}

const W3 = 'tensor "W3" field';
const CORRUPT: Corrupt[] = [
  {
    name: "a file shorter than 8 bytes",
    file: new Uint8Array(5),
    field: "file size",
    expected: "at least 8 bytes",
    found: "5 bytes",
  },
  {
    name: "a header length beyond the file",
    file: fileWith("{}").subarray(0, 9),
    field: "header length",
    expected: "at most 1, the bytes after it",
    found: "2",
  },
  {
    name: "a header that is not JSON",
    file: fileWith("{oops"),
    field: "header",
    expected: "a UTF-8 JSON object",
    found: /^text that is not UTF-8 JSON \(.+\)$/,
  },
  {
    name: "a header that is not UTF-8",
    file: fileWith(new Uint8Array([0x7b, 0xff, 0x7d])),
    field: "header",
    expected: "a UTF-8 JSON object",
    found: /^text that is not UTF-8 JSON \(.+\)$/,
  },
  {
    name: "a header that is not an object",
    file: fileWith("[1,2]"),
    field: "header",
    expected: "a JSON object",
    found: "[1,2]",
  },
  {
    name: "a tensor entry that is not an object",
    file: fileWith('{"W3":5}'),
    field: 'tensor "W3"',
    expected: "an object with dtype, shape and data_offsets",
    found: "5",
  },
  {
    name: "a missing dtype",
    file: fileWith('{"W3":{"shape":[2],"data_offsets":[0,16]}}', 16),
    field: `${W3} "dtype"`,
    expected: "one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2",
    found: "nothing",
  },
  {
    name: "an unsupported dtype",
    file: fileWith('{"W3":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}', 2),
    field: `${W3} "dtype"`,
    expected: "one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2",
    found: '"I8"',
  },
  {
    name: "a dtype that is not a string",
    file: fileWith('{"W3":{"dtype":8,"shape":[2],"data_offsets":[0,16]}}', 16),
    field: `${W3} "dtype"`,
    expected: "one of F64, F32, F16, BF16, F8_E4M3, F8_E5M2",
    found: "8",
  },
  {
    name: "a missing shape",
    file: fileWith('{"W3":{"dtype":"F64","data_offsets":[0,16]}}', 16),
    field: `${W3} "shape"`,
    expected: "an array of non-negative integers",
    found: "nothing",
  },
  {
    name: "a shape with a negative size",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2,-1],"data_offsets":[0,16]}}', 16),
    field: `${W3} "shape"`,
    expected: "an array of non-negative integers",
    found: "[2,-1]",
  },
  {
    name: "a shape that is a string",
    file: fileWith('{"W3":{"dtype":"F64","shape":"2","data_offsets":[0,16]}}', 16),
    field: `${W3} "shape"`,
    expected: "an array of non-negative integers",
    found: '"2"',
  },
  {
    name: "missing data_offsets",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "[begin, end], two non-negative integers",
    found: "nothing",
  },
  {
    name: "data_offsets of strings",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2],"data_offsets":["0","16"]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "[begin, end], two non-negative integers",
    found: '["0","16"]',
  },
  {
    name: "data_offsets with one number",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2],"data_offsets":[16]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "[begin, end], two non-negative integers",
    found: "[16]",
  },
  {
    name: "reversed data_offsets",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2],"data_offsets":[16,0]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "begin <= end",
    found: "[16,0]",
  },
  {
    name: "data_offsets beyond the file",
    file: fileWith('{"W3":{"dtype":"F64","shape":[2],"data_offsets":[8,24]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "a range within the 16-byte data section",
    found: "[8,24]",
  },
  {
    name: "a byte span that does not match the shape",
    file: fileWith('{"W3":{"dtype":"F64","shape":[3],"data_offsets":[0,16]}}', 16),
    field: `${W3} "data_offsets"`,
    expected: "24 bytes for F64 of shape [3]",
    found: "16 bytes",
  },
  {
    name: "a name given twice (the second pointing into another tensor's bytes)",
    file: fileWith(
      '{"W1":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
        '"W3":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},' +
        '"W1":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}',
      16,
    ),
    field: 'tensor "W1"',
    expected: "one entry per name",
    found: "two",
  },
  {
    name: "two tensors sharing bytes",
    file: fileWith(
      '{"W1":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},' +
        '"W3":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}',
      16,
    ),
    field: `${W3} "data_offsets"`,
    expected: 'to begin at 16, where tensor "W1" ends',
    found: "[8,16] (sharing bytes with it)",
  },
  {
    name: "many tensors all on the same bytes",
    file: fileWith(
      `{${
        Array.from({ length: 1500 }, (_, i) =>
          `"t${i}":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}`).join(",")
      }}`,
      8,
    ),
    field: 'tensor "t1" field "data_offsets"',
    expected: 'to begin at 8, where tensor "t0" ends',
    found: "[0,8] (sharing bytes with it)",
  },
  {
    name: "a gap between tensors",
    file: fileWith(
      '{"W1":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
        '"W3":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}}',
      24,
    ),
    field: `${W3} "data_offsets"`,
    expected: 'to begin at 8, where tensor "W1" ends',
    found: "[16,24] (a gap)",
  },
  {
    name: "a first tensor that does not begin at 0",
    file: fileWith('{"W3":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
    field: `${W3} "data_offsets"`,
    expected: "to begin at 0, the start of the data section",
    found: "[4,8] (a gap)",
  },
  {
    name: "bytes after the last tensor",
    file: fileWith('{"W3":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', 11),
    field: "data section",
    expected: "8 bytes, the end of the last tensor",
    found: "11 bytes",
  },
  {
    name: "a header length 3 bytes short (the data shifted by 3)",
    file: (() => {
      // Padding spaces at the end of the header: cutting 3 of them leaves valid JSON.
      const file = fileWith('{"W3":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}    ', 16);
      const view = new DataView(file.buffer);
      view.setBigUint64(0, view.getBigUint64(0, true) - 3n, true);
      return file;
    })(),
    field: "data section",
    expected: "16 bytes, the end of the last tensor",
    found: "19 bytes",
  },
  {
    name: "a tensor not aligned to its element size",
    file: fileWith(
      '{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},' +
        '"W3":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}',
      6,
    ),
    field: `${W3} "data_offsets"`,
    expected: "a begin that is a multiple of 4, the size of F32",
    found: "[2,6]",
  },
  {
    name: "a tensor name holding escape sequences",
    file: fileWith('{"\\u001b[31mEVIL":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', 0),
    field: 'tensor "\\x1b[31mEVIL" field "data_offsets"',
    expected: "a range within the 0-byte data section",
    found: "[0,8]",
  },
  {
    name: "metadata that is not an object",
    file: fileWith('{"__metadata__":["a"]}'),
    field: '"__metadata__"',
    expected: "an object of strings",
    found: '["a"]',
  },
  {
    name: "a metadata value that is not a string",
    file: fileWith('{"__metadata__":{"epochs":3}}'),
    field: '"__metadata__" entry "epochs"',
    expected: "a string",
    found: "3",
  },
];

Deno.test("parseSafetensors() names the file, field, expectation and finding of corrupt input", async (t) => {
  for (const { name, file, ...error } of CORRUPT) {
    await t.step(name, () => {
      assert.throws(
        () => parseSafetensors(file, "weights.safetensors"),
        (e) => assertDataError(e, { source: "weights.safetensors", ...error }),
      );
    });
  }
});

Deno.test("parseSafetensors() shortens a huge value in the message", () => {
  const shape = JSON.stringify(Array(1000).fill("x"));
  const file = fileWith(`{"W3":{"dtype":"F64","shape":${shape},"data_offsets":[0,0]}}`);
  assert.throws(() => parseSafetensors(file, "w.safetensors"), (error) => {
    assert(error instanceof DataError);
    assert.equal(error.found.length, 60);
    assert(error.found.endsWith("..."));
    return true;
  });
});

Deno.test("readSafetensorsFile() names the file, and refuses what is not a regular file", async () => {
  const path = fileURLToPath(new URL("missing.safetensors", import.meta.url));
  const cases: [string, string][] = [
    [path, "no such file"],
    [dirname(path), "a folder"],
    ["/dev/zero", "not a regular file (a device, FIFO or socket)"],
  ];
  for (const [file, found] of cases) {
    await assert.rejects(
      readSafetensorsFile(file),
      (e) =>
        assertDataError(e, { source: file, field: "file", expected: "a safetensors file", found }),
    );
  }
});

const CAN_WRITE = (await Deno.permissions.query({ name: "write" })).state === "granted";
if (!CAN_WRITE) console.warn("Ignoring the writeSafetensorsFile() test: run with --allow-write");

Deno.test({
  name: "writeSafetensorsFile() replaces the file and leaves no temporary file behind",
  ignore: !CAN_WRITE,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "x.safetensors");
      await Deno.writeTextFile(path, "old content");
      await writeSafetensorsFile(path, { x: Tensor.from(bf16, [2], [1, 2]) }, { v: "2" });
      const back = await readSafetensorsFile(path);
      assert.deepEqual([...back.tensors.get("x")?.toFloat64() ?? []], [1, 2]);
      assert.deepEqual(back.metadata, { v: "2" });
      assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["x.safetensors"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The shapes in /work/shared/README.md. */
const BOOK_SHAPES: Record<string, number[]> = {
  W1: [16, 1, 3, 3],
  W2: [16, 16, 3, 3],
  W3: [32, 16, 3, 3],
  W4: [32, 32, 3, 3],
  W5: [64, 32, 3, 3],
  W6: [64, 64, 3, 3],
  W7: [1024, 50],
  W8: [50, 10],
  b1: [16],
  b2: [16],
  b3: [32],
  b4: [32],
  b5: [64],
  b6: [64],
  b7: [50],
  b8: [10],
};

Deno.test("the book weights are W1..W8 and b1..b8 in f64, shaped as documented", async () => {
  const { tensors } = await readSafetensorsFile(WEIGHTS);
  assert.deepEqual(
    Object.fromEntries([...tensors].map(([name, t]) => [name, t.shape])),
    BOOK_SHAPES,
  );
  for (const tensor of tensors.values()) assert.equal(tensor.storage, f64);
});

Deno.test("serializing the book weights reproduces the file byte for byte", async () => {
  const file = await Deno.readFile(WEIGHTS);
  const { tensors, metadata } = parseSafetensors(file, WEIGHTS);
  assert.deepEqual(serializeSafetensors(tensors, metadata), file);
});

Deno.test("the reference logits are one F64 tensor of 10,000 x 10 finite values", async () => {
  const { tensors } = await readSafetensorsFile(LOGITS);
  assert.deepEqual([...tensors.keys()], ["logits"]);
  const logits = tensors.get("logits");
  assert.equal(logits?.storage.dtype, "F64");
  assert.deepEqual(logits.shape, [10000, 10]);
  assert(logits.toFloat64().every(Number.isFinite));
});
