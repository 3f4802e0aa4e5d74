// The version `--version` prints: the package version, the commit the binary was built from
// (scripts/build.ts defines STREAMCTL_COMMIT; "-dirty" when tracked files differed from it), and
// the Bun runtime compiled into the binary — what a bug report needs.
export const VERSION = "0.1.0";

declare const STREAMCTL_COMMIT: string | undefined;

/** The commit the binary was built from, or "unknown" when running from source. */
export const COMMIT: string = typeof STREAMCTL_COMMIT === "string" && STREAMCTL_COMMIT !== "" ? STREAMCTL_COMMIT : "unknown";

/** `streamctl 0.1.0 (commit 1a2b3c4d5e6f, bun 1.4.5)` */
export function versionText(): string {
  return `streamctl ${VERSION} (commit ${COMMIT}, bun ${typeof Bun === "undefined" ? "?" : Bun.version})`;
}
