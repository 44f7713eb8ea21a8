/** What the build context says about a COPY/ADD source (see context.ts). */
export interface ContextView {
  /** Files (context-relative) a source names after .dockerignore; undefined when the source is not in the context. */
  match(source: string): { files: string[]; dir: boolean } | undefined;
  /** For a certificate file: whether it counts (a CA, or the org CA's family with --ca/--fingerprint) and what it is. */
  classify(file: string): { ca: boolean; description: string } | undefined;
}
