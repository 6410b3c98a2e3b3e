// Metrics has one current-jobs reporter; with several roles in one process (--role all)
// each consumer adds its own here and the metrics JSON lists them all.
import type { Metrics } from './metrics.js';

type Reporter = () => unknown[];

const reporters = new WeakMap<Metrics, Set<Reporter>>();

/** Adds a reporter of in-flight jobs; returns a function that removes it. */
export function addCurrentJobs(metrics: Metrics, reporter: Reporter): () => void {
  let set = reporters.get(metrics);
  if (!set) {
    const all = new Set<Reporter>();
    set = all;
    reporters.set(metrics, all);
    metrics.setCurrentJobs(() => [...all].flatMap((r) => r()));
  }
  set.add(reporter);
  return () => {
    set.delete(reporter);
  };
}
