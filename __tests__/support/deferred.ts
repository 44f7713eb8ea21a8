/**
 * A promise and what settles it, for a test that hands one party its cue from another (the ES2024
 * Promise.withResolvers, which this project's ES2023 lib does not declare).
 */
export function deferred(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}
