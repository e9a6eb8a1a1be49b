import cliProgress from 'cli-progress';

/** A progress bar on a terminal for long jobs; silent when stderr is not a TTY (CI, pipes). */
export function progressReporter(
  minTotal = 50_000,
  label = 'verifying',
  unit = 'entries',
): { update: (done: number, total: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (done, total) => {
      if (!bar && total >= minTotal) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% {value}/{total} ${unit}` },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar?.update(done);
    },
    stop: () => bar?.stop(),
  };
}
