import { parseTree, printParseErrorCode, type ParseError, getNodeValue } from "npm:jsonc-parser@^3.3.1";
const errors: ParseError[] = [];
const t = parseTree('{ // c\n "a": "f16", "b": {"storage": "x"},\n}', errors, { allowTrailingComma: true });
console.log(errors, t && getNodeValue(t));
const e2: ParseError[] = [];
parseTree('{ "a" "f16" }', e2); console.log(e2.map(e => printParseErrorCode(e.error)));
