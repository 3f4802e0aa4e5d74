// The inflating worker thread's entry in the compiled binary (core/batch/inflate-worker.ts is the
// thread itself). scripts/build.ts bundles every entry from cmd/, so inside the binary this lands
// beside the main bundle, where core/batch/inflate-threads.ts's `new URL("./inflate-worker.ts",
// import.meta.url)` finds it (import.meta.url is the bundle's there); run from source, that URL
// is core/batch/inflate-worker.ts itself.
import "../core/batch/inflate-worker.ts";
