/**
 * Variable substitution as the Dockerfile frontend does it for COPY/ADD/WORKDIR/ENV/FROM ($X, ${X}, ${X:-d}, ${X-d},
 * ${X:+a}, ${X+a}) and, approximately, as a shell does for RUN. An unknown variable stays as written: `$JAVA_HOME/lib/
 * security/cacerts` still reads as a keystore path, where an empty string would make it `/lib/security/cacerts`.
 */
export type Vars = ReadonlyMap<string, string>;

export function expand(text: string, vars: Vars): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const value = vars.get(name);
      if (!op) return value ?? whole;
      const set = op.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      if (op.endsWith('-')) return set ? value! : expand(word ?? '', vars);
      return set ? expand(word ?? '', vars) : '';
    },
  );
}

/** The names a text refers to with $X or ${X…}. */
export function referencedVariables(text: string): string[] {
  return [...text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}
