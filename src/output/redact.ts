/**
 * The secret sink: what org-ca prints of a variable's value or a URL. A value org-ca exports may carry the user's
 * own settings (JAVA_TOOL_OPTIONS keeps the job's `-Dhttps.proxyPassword=…` and adds the truststore), and a proxy URL
 * may carry `user:password@`: logs, summaries, `--json` and reports show them redacted. Pure.
 */

/** JVM options whose values are secret: the JDK's own (https.proxyPassword, javax.net.ssl.*StorePassword) and the common ones. */
const SECRET_PROPERTY = /(pass(word|wd|phrase)?|secret|token|credential|api[._-]?key|private[._-]?key)$/i;
/** The variables that carry JVM options (the launcher's and the build tools'). */
export const JVM_OPTION_VARIABLES: readonly string[] = [
  'JAVA_TOOL_OPTIONS',
  'JDK_JAVA_OPTIONS',
  '_JAVA_OPTIONS',
  'MAVEN_OPTS',
  'GRADLE_OPTS',
];

/** `scheme://user:password@host` → `scheme://user:***@host`; `scheme://token@host` → `scheme://***@host`. */
export function redactUrlUserinfo(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(:[^\s/@]*)?@/gi,
    (_m, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`,
  );
}

/** `-Dname=value` options whose name looks secret get `***` as their value; everything else stays readable. */
export function redactJvmOptions(options: string): string {
  // Two spellings (JDK-8061999): "-Dname=value with spaces" quoted whole, or -Dname=value / -Dname="value".
  return options.replace(
    JVM_PROPERTY,
    (whole, quotedHead?: string, quotedName?: string, _q?: string, head?: string, name?: string) => {
      if (quotedHead !== undefined) return SECRET_PROPERTY.test(quotedName!) ? `${quotedHead}***"` : whole;
      return SECRET_PROPERTY.test(name!) ? `${head}***` : whole;
    },
  );
}

/** A quoted option with its value, or a bare one: groups 1-3 for the first, 4-6 for the second. */
const JVM_PROPERTY = /("-D([^\s="]+)=)([^"]*)"|(-D([^\s="]+)=)("[^"]*"|[^\s"]*)/g;

/** A variable's value as org-ca prints it: JVM options with secret properties masked, URL credentials masked. */
export function redactValue(name: string, value: string): string {
  const options = JVM_OPTION_VARIABLES.includes(name) ? redactJvmOptions(value) : value;
  return redactUrlUserinfo(options);
}

/** The secret parts of a value, for `core.setSecret`: the runner then masks them wherever they appear. */
export function secretsIn(name: string, value: string): string[] {
  const out: string[] = [];
  if (JVM_OPTION_VARIABLES.includes(name)) {
    for (const m of value.matchAll(JVM_PROPERTY)) {
      const [name, secret] = m[1] !== undefined ? [m[2]!, m[3]!] : [m[5]!, m[6]!.replace(/^"|"$/g, '')];
      if (SECRET_PROPERTY.test(name) && secret) out.push(secret);
    }
  }
  for (const m of value.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:([^\s/@]+)@/gi)) out.push(m[1]!);
  return out.filter((s) => s.length > 0);
}

const DIGEST_BEFORE = /(?:file|dir|sha256|sha512):$/;
const DIGEST = /^(?:[0-9a-f]{64}|[0-9a-f]{128})$/;

/** Certificate text and long base64 never reach a log or a report, even when an instruction holds them. */
export function redactCertificateText(text: string): string {
  return text
    .replace(
      /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g,
      '-----BEGIN $1----- [redacted] -----END $1-----',
    )
    .replace(/[A-Za-z0-9+/]{60,}={0,2}/g, (run: string, offset: number, whole: string) =>
      DIGEST.test(run) && DIGEST_BEFORE.test(whole.slice(Math.max(0, offset - 7), offset)) ? run : '[redacted base64]',
    );
}
