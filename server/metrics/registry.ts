// A small Prometheus text-format registry: counters, gauges read at scrape time, and
// summaries over a bounded reservoir. Enough for a Grafana board, no dependency.
type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const keys = Object.keys(labels);
  return keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}` : '';
};

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'summary';
  render: () => string[];
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  counter(name: string, help: string) {
    const values = new Map<string, { labels: Labels; value: number }>();
    this.families.set(name, {
      help,
      type: 'counter',
      render: () => [...values.values()].map((v) => `${name}${labelText(v.labels)} ${v.value}`),
    });
    return {
      inc(labels: Labels = {}, by = 1) {
        const key = labelText(labels);
        const entry = values.get(key);
        if (entry) entry.value += by;
        else values.set(key, { labels, value: by });
      },
    };
  }

  /** A gauge whose samples are read when /metrics is scraped. */
  gauge(name: string, help: string, read: () => Array<{ labels?: Labels; value: number }> | number) {
    this.families.set(name, {
      help,
      type: 'gauge',
      render: () => {
        const samples = read();
        const list = typeof samples === 'number' ? [{ value: samples }] : samples;
        return list.map((s) => `${name}${labelText(s.labels ?? {})} ${s.value}`);
      },
    });
  }

  /** Quantiles over the last `size` observations (bounded memory), plus sum and count. */
  summary(name: string, help: string, size = 2048) {
    const ring = new Float64Array(size);
    let count = 0;
    let sum = 0;
    this.families.set(name, {
      help,
      type: 'summary',
      render: () => {
        const n = Math.min(count, size);
        const sorted = Array.from(ring.subarray(0, n)).sort((a, b) => a - b);
        const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor(p * n))]! : 0);
        return [
          ...[0.5, 0.9, 0.99].map((p) => `${name}{quantile="${p}"} ${q(p)}`),
          `${name}_sum ${sum}`,
          `${name}_count ${count}`,
        ];
      },
    });
    return {
      observe(value: number) {
        ring[count % size] = value;
        count++;
        sum += value;
      },
    };
  }

  render(): string {
    const out: string[] = [];
    for (const [name, family] of this.families) {
      out.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`, ...family.render());
    }
    return `${out.join('\n')}\n`;
  }
}
