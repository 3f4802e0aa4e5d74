// Names for JavaScript in `perf report` of a streamctl process (issue #17, where it measured the
// CRC-32C share of the broker's CPU). JavaScriptCore writes every function it compiles to a jitdump
// file when started with BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=DIR (compiled binary or
// not), but names it jit-<thread>-<pid>.dump, which `perf inject --jit` does not recognise. This
// reads the dump and writes /tmp/perf-<pid>.map, the plain map `perf report` reads by itself for
// the process's [JIT] samples (also after the process has exited).
//
//   BUN_JSC_useJITDump=1 BUN_JSC_jitDumpDirectory=/tmp/jit bin/streamctl serve … &
//   perf record -e cpu-clock -F 1999 -p PID -o perf.data     (meanwhile: the load; then ^C)
//   node_modules/.bin/bun run bench/jitdump-to-perf-map.ts /tmp/jit/jit-*-PID.dump
//   perf report -i perf.data --no-children --sort dso,sym
//
// jitdump (linux tools/perf/Documentation/jitdump-specification.txt), little-endian here:
//   header   magic u32 "JiTD", version u32, header size u32, elf machine u32, pad u32, pid u32,
//            timestamp u64, flags u64
//   records  id u32, record size u32 (header included), timestamp u64, then by id:
//            0 JIT_CODE_LOAD: pid u32, tid u32, vma u64, code address u64, code size u64,
//              code index u64, name (NUL-terminated), code bytes
//            others (move, debug info, close, unwinding info): skipped by their size
import { readFileSync, writeFileSync } from "node:fs";

const MAGIC = 0x4a695444;
const JIT_CODE_LOAD = 0;

export function perfMapLines(dump: Uint8Array): { pid: number; lines: string[] } {
  const v = new DataView(dump.buffer, dump.byteOffset, dump.byteLength);
  if (dump.length < 40 || v.getUint32(0, true) !== MAGIC) throw new Error("not a little-endian jitdump file");
  const pid = v.getUint32(20, true);
  const lines: string[] = [];
  for (let p = v.getUint32(8, true); p + 16 <= dump.length; ) {
    const id = v.getUint32(p, true);
    const size = v.getUint32(p + 4, true);
    if (size < 16 || p + size > dump.length) break; // a record cut short by the process's end
    if (id === JIT_CODE_LOAD) {
      const address = v.getBigUint64(p + 32, true);
      const codeSize = v.getBigUint64(p + 40, true);
      const nameStart = p + 56;
      const nameEnd = dump.indexOf(0, nameStart);
      const name = new TextDecoder().decode(dump.subarray(nameStart, nameEnd < 0 ? p + size : nameEnd));
      lines.push(`${address.toString(16)} ${codeSize.toString(16)} ${name}`);
    }
    p += size;
  }
  return { pid, lines };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: bun run bench/jitdump-to-perf-map.ts DIR/jit-TID-PID.dump");
    process.exit(2);
  }
  const { pid, lines } = perfMapLines(readFileSync(file));
  writeFileSync(`/tmp/perf-${pid}.map`, lines.join("\n") + "\n");
  console.error(`${lines.length} functions -> /tmp/perf-${pid}.map`);
}
