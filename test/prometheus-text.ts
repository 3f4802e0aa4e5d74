// A strict parser of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format): it rejects
// anything a Prometheus server would reject (bad names, bad escapes, samples before their TYPE,
// a family split in two, duplicate series, histograms whose buckets are not cumulative or whose
// +Inf bucket differs from _count) instead of guessing. Used by the /metrics tests and by
// `make bench` to read the broker's histograms.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(s: string, line: number): number {
  if (s === "NaN") return Number.NaN;
  if (s === "+Inf" || s === "Inf") return Number.POSITIVE_INFINITY;
  if (s === "-Inf") return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value '${s}'`);
  return Number(s);
}

function parseLabels(s: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    while (s[i] === " ") i++;
    if (s[i] === "}") return { labels, rest: s.slice(i + 1) };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!m) throw new Error(`line ${line}: bad label name at '${s.slice(i)}'`);
    const name = m[0];
    i += name.length;
    if (s[i] !== "=" || s[i + 1] !== '"') throw new Error(`line ${line}: expected ="…" after label ${name}`);
    i += 2;
    let value = "";
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = s[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`line ${line}: bad escape \\${e}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (Object.hasOwn(labels, name)) throw new Error(`line ${line}: label ${name} twice`);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`line ${line}: reserved label ${name}`);
    labels[name] = value;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

function familyOf(sample: string, families: Map<string, PromFamily>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length);
      const f = families.get(base);
      if (f && (f.type === "histogram" || f.type === "summary")) return base;
    }
  }
  return sample;
}

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, PromFamily>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, line: number) => {
    if (current === name) return;
    if (finished.has(name)) throw new Error(`line ${line}: family ${name} appears twice, not contiguous`);
    if (current !== null) finished.add(current);
    current = name;
  };
  text
    .slice(0, -1)
    .split("\n")
    .forEach((raw, idx) => {
      const line = idx + 1;
      if (raw.trim() === "") return;
      if (raw.startsWith("#")) {
        const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
        if (!m) return; // a plain comment
        const [, kind, name, rest] = m;
        if (!METRIC_NAME.test(name!)) throw new Error(`line ${line}: bad metric name ${name}`);
        enter(name!, line);
        let f = families.get(name!);
        if (!f) families.set(name!, (f = { name: name!, type: "untyped", samples: [] }));
        if (kind === "TYPE") {
          if (!TYPES.has(rest ?? "")) throw new Error(`line ${line}: bad type '${rest}'`);
          if (f.samples.length > 0) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
          f.type = rest as PromFamily["type"];
        } else {
          if (f.help !== undefined) throw new Error(`line ${line}: HELP of ${name} twice`);
          f.help = rest ?? "";
        }
        return;
      }
      const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
      if (!nm) throw new Error(`line ${line}: bad sample '${raw}'`);
      const name = nm[0];
      let rest = raw.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
      const parts = rest.trim().split(/\s+/);
      if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected ' value [timestamp]' in '${raw}'`);
      const value = parseValue(parts[0]!, line);
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp`);
      const fname = familyOf(name, families);
      enter(fname, line);
      let f = families.get(fname);
      if (!f) families.set(fname, (f = { name: fname, type: "untyped", samples: [] }));
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
      seen.add(key);
      f.samples.push({ name, labels, value });
    });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function checkHistogram(f: PromFamily): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let e = series.get(key);
    if (!e) series.set(key, (e = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      e.buckets.push([parseValue(le, 0), s.value]);
    } else if (s.name === `${f.name}_count`) e.count = s.value;
    else if (s.name === `${f.name}_sum`) e.sum = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [key, e] of series) {
    if (e.count === undefined || e.sum === undefined) throw new Error(`${f.name}${key}: histogram without _count or _sum`);
    const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new Error(`${f.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
    if (sorted.at(-1)![1] !== e.count) throw new Error(`${f.name}${key}: +Inf bucket ${sorted.at(-1)![1]} ≠ count ${e.count}`);
  }
}

/** The value of one series, or undefined. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}, family = name): number | undefined {
  const f = families.get(family);
  return f?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
