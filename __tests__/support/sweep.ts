/** A run over many images as two runs of it must agree: everything but the times (the run's and each image's). */
export function comparableSweep(sweep: {
  readonly stats: unknown;
  readonly images: readonly { readonly report: { readonly stats: { readonly ms: number } } }[];
}): unknown {
  const { stats: _s, ...rest } = sweep;
  return {
    ...rest,
    images: sweep.images.map(
      ({
        report: {
          stats: { ms: _ms, ...stats },
          ...report
        },
        ...i
      }) => ({
        ...i,
        report: { ...report, stats },
      }),
    ),
  };
}
