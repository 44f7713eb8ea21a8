/** The one fix for every leak, said the same way by the image check and the Dockerfile lint. */
export const LEAK_FIX =
  'Fix: use the CA only in a builder stage, through a secret mount (RUN --mount=type=secret,id=org_ca … with-org-ca <command>), ' +
  'and copy only build outputs into the release stage.';
