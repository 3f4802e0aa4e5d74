// A file layer that reports how long each fdatasync takes (for /metrics), delegating everything
// else unchanged to the layer it wraps. Methods are bound once and kept: binding on every access
// made a function per pwrite, on every Produce (issue #8).
import { type FileLayer, NodeFileLayer } from "../fs.ts";

export function timedFileLayer(onSync: (ms: number) => void, inner: FileLayer = new NodeFileLayer()): FileLayer {
  const fdatasync = async (...args: Parameters<FileLayer["fdatasync"]>) => {
    const started = performance.now();
    try {
      return await inner.fdatasync(...args);
    } finally {
      onSync(performance.now() - started);
    }
  };
  const bound = new Map<PropertyKey, unknown>([["fdatasync", fdatasync]]);
  const innerThen = inner.fdatasyncThen;
  if (innerThen !== undefined) {
    // One closure per sync (the time it started), not the promise chain of the async form.
    const fdatasyncThen: NonNullable<FileLayer["fdatasyncThen"]> = (file, done) => {
      const started = performance.now();
      innerThen.call(inner, file, (e) => {
        onSync(performance.now() - started);
        done(e);
      });
    };
    bound.set("fdatasyncThen", fdatasyncThen);
  }
  const innerSync = inner.fdatasyncSync;
  if (innerSync !== undefined) {
    const fdatasyncSync: NonNullable<FileLayer["fdatasyncSync"]> = (file) => {
      const started = performance.now();
      try {
        innerSync.call(inner, file);
      } finally {
        onSync(performance.now() - started);
      }
    };
    bound.set("fdatasyncSync", fdatasyncSync);
  }
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const known = bound.get(prop);
      if (known !== undefined) return known;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      const fn = value.bind(target);
      bound.set(prop, fn);
      return fn;
    },
  });
}
