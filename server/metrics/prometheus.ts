// Prometheus metrics through prom-client. Each app gets a registry of its own (tests build
// many apps in one process); the process's own figures (RSS, heap, event-loop lag, GC, CPU,
// file descriptors) come from prom-client's default collectors, started once per process
// into a registry beside it: their GC observer and event-loop monitor cannot be stopped,
// and they describe the process, not one app.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export type MetricsRegistry = Registry;
export const createMetricsRegistry = (): MetricsRegistry => new Registry();

/** What the default collectors cost is read at scrape time, except these two, which run all along. */
const PROCESS_METRICS = {
  prefix: 'edgejail_',
  // The event-loop histogram samples every 20 ms (prom-client's default, 10 ms, wakes an idle service twice as often).
  eventLoopMonitoringPrecision: 20,
  // GC pauses worth knowing about: a 2 MB young generation collects often and briefly.
  gcDurationBuckets: [0.001, 0.01, 0.1, 1],
};

let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, ...PROCESS_METRICS });
  }
  return processRegistry;
}

/** Starts the process collectors now, so the first scrape already has a window of event-loop and GC samples. */
export const startProcessMetrics = (): void => void processMetrics();

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** The text of one scrape: the app's metrics, then the process's. */
export async function renderMetrics(registry: MetricsRegistry): Promise<string> {
  return Registry.merge([registry, processMetrics()]).metrics();
}

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/**
 * A gauge whose samples are read when /metrics is scraped. A series the read no longer
 * returns disappears (a jail with no bans left), and an unlabelled gauge whose figure is
 * unknown has no sample rather than a made-up 0.
 */
export function scrapedGauge(
  registry: MetricsRegistry,
  spec: { name: string; help: string; labelNames?: readonly string[] },
  read: () => Sample[] | number,
): Gauge {
  return new Gauge({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    collect() {
      this.reset();
      const samples = read();
      if (typeof samples === 'number') return this.set(samples);
      if (!(spec.labelNames?.length) && !samples.length) this.remove();
      for (const s of samples) this.set(s.labels ?? {}, s.value);
    },
  });
}

/** A counter kept elsewhere (a worker's tally), read when /metrics is scraped; no sample while it is unknown. */
export function scrapedCounter(registry: MetricsRegistry, spec: { name: string; help: string }, read: () => number | undefined): Counter {
  return new Counter({
    name: spec.name,
    help: spec.help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value === undefined) this.remove();
      else this.inc(value);
    },
  });
}
