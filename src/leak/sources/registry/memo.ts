/**
 * What a run over a repository's tags learns once: its whole tag list (so each image's referrer and cosign tags are
 * looked up only when the list holds them), and which registries have no referrers API (distribution-spec 1.1
 * answers 200 for any subject, so a 404 means the API is not there).
 */
export class RegistryRunMemo {
  /** `HOST/REPO` → every tag the list gave, referrer tags included. */
  readonly tags = new Map<string, ReadonlySet<string>>();
  readonly noReferrersApi = new Set<string>();
}
