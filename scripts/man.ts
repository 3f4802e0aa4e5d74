// Writes streamctl(1) from the command definitions: `bun run scripts/man.ts bin/streamctl.1`
// (make man; make build runs it too).
import { writeFileSync } from "node:fs";
import { manPage } from "../cmd/man-page.ts";
import { buildProgram } from "../cmd/streamctl.ts";
import { processIo } from "../cmd/io.ts";

const out = process.argv[2] ?? "bin/streamctl.1";
writeFileSync(out, manPage(buildProgram(processIo())));
console.error(`wrote ${out}`);
