// Validates an AsyncAPI document with the reference parser; any error-level diagnostic fails.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"));
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const level = ["error", "warning", "info", "hint"][d.severity] ?? d.severity;
  console.log(`${level}: ${d.code} ${d.message} at ${d.path.join(".")}`);
}
if (!document || errors.length) {
  console.error(`${path}: ${errors.length} error(s) from @asyncapi/parser`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()} (${diagnostics.length} diagnostics, none an error)`);
