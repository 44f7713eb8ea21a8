#!/bin/sh
# with-org-ca: run ONE build command trusting the org CA from a BuildKit secret, then remove every trace of it.
#
#   RUN --mount=type=secret,id=org_ca,required=false --mount=type=bind,from=org-ca,target=/org-ca \
#       /org-ca/with-org-ca npm ci
#
# POSIX sh only (dash, busybox ash, bash): it must run in any image with a shell, Node or not.
# Without the secret (no inspection on this runner) it runs the command unchanged.
# It writes only in a fresh mktemp directory, never under /etc, /usr or the working directory,
# and never prints the CA. The command's exit status is passed on (128+N when a signal N ends it).
#
# Environment (for tests and unusual layouts):
#   ORG_CA_SECRET          the org CA, PEM            (default /run/secrets/org_ca)
#   ORG_CA_BUNDLE_SECRET   the runner's trust + CA    (default /run/secrets/org_ca_bundle): when mounted, the
#                          base of the combined bundle (the image's own bundle is added after it)
#   ORG_CA_SYSTEM_BUNDLES  where to look for the image's bundle, space-separated, first readable wins
#   ORG_CA_QUIET=1         no note on stderr (the warning about a missing bundle is always printed)
#
# Variables that REPLACE a tool's roots never point at the org CA alone (every site it does not sign would break):
# they get the org_ca_bundle secret when mounted, else the image's own bundle plus the CA; with neither, they are
# left unset and a warning says what to mount. Variables that APPEND get the CA, merged with any file the image
# already named in them.

# The variables below must match src/tools/registry.ts (Linux entries); __tests__/unit/build checks it.
# Tools whose variable APPENDS to their default roots get the CA alone.
ORG_CA_CA_VARIABLES='NODE_EXTRA_CA_CERTS DENO_CERT'
# Tools whose variable REPLACES their default roots get the combined bundle.
ORG_CA_BUNDLE_VARIABLES='SSL_CERT_FILE REQUESTS_CA_BUNDLE PIP_CERT CURL_CA_BUNDLE GIT_SSL_CAINFO AWS_CA_BUNDLE CARGO_HTTP_CAINFO CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE BUNDLE_SSL_CA_CERT COMPOSER_CAFILE HEX_CACERTS_PATH GRPC_DEFAULT_SSL_ROOTS_FILE_PATH PERL_LWP_SSL_CA_FILE'

me=with-org-ca
if [ "$#" -eq 0 ]; then
  echo "$me: no command given: expected '$me COMMAND [ARGS...]'" >&2
  exit 2
fi

secret=${ORG_CA_SECRET:-/run/secrets/org_ca}
# required=false secret mounts leave the path absent; an empty file means the same (no inspection).
if [ ! -s "$secret" ]; then
  exec "$@"
fi
if [ ! -r "$secret" ]; then
  echo "$me: cannot read '$secret': expected the org CA secret readable by this user" >&2
  exit 1
fi

tmp=
child=
cleanup() {
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
    tmp=
  fi
}
# Cleanup must run after the command, so no exec: the command runs as a child and signals are passed on to it.
on_signal() {
  trap '' INT TERM HUP
  if [ -n "$child" ]; then
    kill "-$2" "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  cleanup
  trap - EXIT
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 129 HUP' HUP
trap 'on_signal 130 INT' INT
trap 'on_signal 143 TERM' TERM

fail() {
  echo "$me: $1" >&2
  cleanup
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/org-ca.XXXXXX") || fail "cannot create a temporary directory in '${TMPDIR:-/tmp}': expected a writable TMPDIR"
# apt fetches as the unprivileged _apt user, so the directory and files must be world-readable (they hold public certs).
chmod 755 "$tmp" || fail "cannot chmod '$tmp'"

# Keep only the certificate blocks (CRLF tolerated); refuse a private key rather than use or echo it.
cr=$(printf '\r')
count=0
inside=0
: >"$tmp/org-ca.pem"
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%"$cr"}
  case $line in
    *'PRIVATE KEY-----'*) fail "'$secret' holds a private key: expected the org CA certificate only; nothing was run" ;;
    '-----BEGIN CERTIFICATE-----') inside=1; count=$((count + 1)) ;;
  esac
  if [ "$inside" = 1 ]; then
    printf '%s\n' "$line" >>"$tmp/org-ca.pem"
  fi
  case $line in
    '-----END CERTIFICATE-----') inside=0 ;;
  esac
done <"$secret"
[ "$count" -gt 0 ] || fail "'$secret' holds no PEM certificate: expected the org CA as PEM (the action's secret-files output)"

# The combined bundle: the runner's bundle (org_ca_bundle secret) when mounted, the image's own bundle, anything the
# image already points tools at, then the org CA. Duplicates are harmless to every reader of a PEM bundle.
: >"$tmp/ca-bundle.pem"
bundle_secret=${ORG_CA_BUNDLE_SECRET:-/run/secrets/org_ca_bundle}
runner_bundle=
[ -s "$bundle_secret" ] && [ -r "$bundle_secret" ] && runner_bundle=$bundle_secret
image_bundle=
for candidate in ${ORG_CA_SYSTEM_BUNDLES:-/etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem /etc/ssl/cert.pem}; do
  if [ -f "$candidate" ] && [ -r "$candidate" ]; then
    image_bundle=$candidate
    break
  fi
done
seen=" "
have_roots=
for source in "$runner_bundle" "$image_bundle" ${SSL_CERT_FILE:-} ${REQUESTS_CA_BUNDLE:-} ${CURL_CA_BUNDLE:-}; do
  [ -n "$source" ] && [ -f "$source" ] && [ -r "$source" ] || continue
  case $seen in *" $source "*) continue ;; esac
  seen="$seen$source "
  have_roots=1
  cat "$source" >>"$tmp/ca-bundle.pem" || fail "cannot read '$source'"
  # A file without a final newline would glue its last line to the next BEGIN line.
  echo >>"$tmp/ca-bundle.pem"
done
cat "$tmp/org-ca.pem" >>"$tmp/ca-bundle.pem" || fail "cannot write '$tmp/ca-bundle.pem'"

# Appending variables: the CA, plus whatever file the image already named (its trust is kept, never replaced).
for name in $ORG_CA_CA_VARIABLES; do
  eval "preset=\${$name:-}"
  if [ -n "$preset" ] && [ -f "$preset" ] && [ -r "$preset" ]; then
    file="$tmp/$name.pem"
    { cat "$preset"; echo; cat "$tmp/org-ca.pem"; } >"$file" || fail "cannot write '$file'"
    export "$name=$file"
  else
    export "$name=$tmp/org-ca.pem"
  fi
done

# Writes rc file $2: the lines of the user's rc file $1 that do not match pattern $3, then "$4 = <the bundle>".
rc_with_bundle() {
  : >"$2"
  if [ -f "$1" ] && [ -r "$1" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in
        $3) ;;
        *) printf '%s\n' "$line" >>"$2" ;;
      esac
    done <"$1"
  fi
  printf '%s = %s\n' "$4" "$tmp/ca-bundle.pem" >>"$2"
}

if [ -z "$have_roots" ]; then
  # Never point a replacing variable at the CA alone: say what to mount instead, even when quiet.
  echo "$me: WARNING: this image has no CA bundle and no org_ca_bundle secret is mounted, so SSL_CERT_FILE and the other variables that replace a tool's roots are left unset (the org CA alone would break every site it does not sign): add --mount=type=secret,id=org_ca_bundle,required=false to this RUN" >&2
else
  for name in $ORG_CA_BUNDLE_VARIABLES; do
    export "$name=$tmp/ca-bundle.pem"
  done

  # wget (GnuTLS on Debian) reads no CA variable, only wgetrc; WGETRC replaces the user's, so keep its other lines.
  rc_with_bundle "${WGETRC:-${HOME:-/nonexistent}/.wgetrc}" "$tmp/wgetrc" '*ca_certificate*=*' ca_certificate
  export WGETRC="$tmp/wgetrc"

  # wget2 reads neither WGETRC nor SSL_CERT_FILE; WGET2RC replaces ~/.wget2rc (wget2 --config), so keep its lines.
  rc_with_bundle "${WGET2RC:-${HOME:-/nonexistent}/.wget2rc}" "$tmp/wget2rc" '*ca[-_]certificate*=*' ca-certificate
  export WGET2RC="$tmp/wget2rc"

  # apt ignores every CA variable; Acquire::https::CAInfo replaces its roots, so it gets the bundle (apt.conf(5)).
  # APT_CONFIG is read before /etc/apt/apt.conf.d, and an existing one is kept through #include.
  {
    if [ -n "${APT_CONFIG:-}" ] && [ -f "$APT_CONFIG" ]; then
      printf '#include "%s";\n' "$APT_CONFIG"
    fi
    printf 'Acquire::https::CAInfo "%s";\n' "$tmp/ca-bundle.pem"
  } >"$tmp/apt.conf"
  export APT_CONFIG="$tmp/apt.conf"
fi

# apk (apk-tools 2 and 3) uses /etc/apk/ca.pem when present, else OpenSSL's defaults, which SSL_CERT_FILE sets.
if [ -f /etc/apk/ca.pem ] && [ -z "${ORG_CA_QUIET:-}" ]; then
  echo "$me: note: /etc/apk/ca.pem exists, so apk ignores SSL_CERT_FILE and will not trust the org CA" >&2
fi

# Java: a copy of the JDK's cacerts plus the org CA, only where a JDK with keytool is in the image.
java_home=${JAVA_HOME:-}
if [ -z "$java_home" ] && command -v java >/dev/null 2>&1; then
  java_bin=$(command -v java)
  java_bin=$(readlink -f "$java_bin" 2>/dev/null || printf '%s' "$java_bin")
  java_home=${java_bin%/bin/java}
fi
keytool=
cacerts=
if [ -n "$java_home" ]; then
  [ -x "$java_home/bin/keytool" ] && keytool=$java_home/bin/keytool
  for candidate in "$java_home/lib/security/cacerts" "$java_home/jre/lib/security/cacerts"; do
    if [ -f "$candidate" ] && [ -r "$candidate" ]; then
      cacerts=$candidate
      break
    fi
  done
fi
case $tmp in *[[:space:]]*) keytool= ;; esac
# A trustStore the image already names replaced cacerts on purpose: never swap it for cacerts + CA behind its back.
case " ${JAVA_TOOL_OPTIONS:-} ${JDK_JAVA_OPTIONS:-} " in
  *-Djavax.net.ssl.trustStore=*)
    keytool=
    if [ -z "${ORG_CA_QUIET:-}" ]; then
      echo "$me: note: JAVA_TOOL_OPTIONS/JDK_JAVA_OPTIONS name their own trustStore, so Java is left as it is: add the org CA to that store to trust it" >&2
    fi
    ;;
esac
if [ -n "$keytool" ] && [ -n "$cacerts" ]; then
  cp "$cacerts" "$tmp/truststore" && chmod 644 "$tmp/truststore" || fail "cannot copy '$cacerts'"
  n=0
  inside=0
  while IFS= read -r line; do
    case $line in '-----BEGIN CERTIFICATE-----') inside=1; n=$((n + 1)); : >"$tmp/cert-$n.pem" ;; esac
    [ "$inside" = 1 ] && printf '%s\n' "$line" >>"$tmp/cert-$n.pem"
    case $line in '-----END CERTIFICATE-----') inside=0 ;; esac
  done <"$tmp/org-ca.pem"
  i=1
  while [ "$i" -le "$n" ]; do
    # keytool prints only "Certificate was added"; on failure its message names the store, never the CA body.
    "$keytool" -importcert -noprompt -trustcacerts -alias "org-ca-$i" -file "$tmp/cert-$i.pem" \
      -keystore "$tmp/truststore" -storepass changeit >/dev/null 2>"$tmp/keytool.err" \
      || fail "keytool could not add the org CA to a copy of '$cacerts': $(head -n 1 "$tmp/keytool.err")"
    rm -f "$tmp/cert-$i.pem"
    i=$((i + 1))
  done
  rm -f "$tmp/keytool.err"
  # No trustStoreType: JDK 9+ reads both JKS and PKCS#12 cacerts under the default type (keystore.type.compat).
  JAVA_TOOL_OPTIONS="${JAVA_TOOL_OPTIONS:+$JAVA_TOOL_OPTIONS }-Djavax.net.ssl.trustStore=$tmp/truststore -Djavax.net.ssl.trustStorePassword=changeit"
  export JAVA_TOOL_OPTIONS
fi
chmod 644 "$tmp"/* 2>/dev/null

if [ -z "${ORG_CA_QUIET:-}" ]; then
  echo "$me: the org CA ($count certificate(s)) is trusted for: $1" >&2
fi

# Run in the background so that a signal reaches the trap at once; fd 3 keeps the caller's stdin, which an
# asynchronous command would otherwise get as /dev/null (POSIX, 2.9.3 Asynchronous Lists).
exec 3<&0
"$@" 0<&3 3<&- &
child=$!
exec 3<&-
wait "$child"
status=$?
child=
cleanup
exit "$status"
