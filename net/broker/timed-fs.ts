// A file layer that reports how long each fdatasync takes (for /metrics), delegating everything
// else unchanged to the layer it wraps.
import { type FileLayer, NodeFileLayer } from "../../core/fs.ts";

export function timedFileLayer(onSync: (ms: number) => void, inner: FileLayer = new NodeFileLayer()): FileLayer {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "fdatasync") {
        return async (...args: Parameters<FileLayer["fdatasync"]>) => {
          const started = performance.now();
          try {
            return await target.fdatasync(...args);
          } finally {
            onSync(performance.now() - started);
          }
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
