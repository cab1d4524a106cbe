// The attempts-over-time chart as hand-drawn SVG: no library, no script, and only
// presentation attributes (no style attributes), so the strict CSP holds.
import { html, type SafeHtml } from './html.ts';

export interface Series {
  label: string;
  values: number[];
}

export interface ChartInput {
  /** Start of each bucket, ms since the epoch, ascending; one per value of every series. */
  bucketStartsMs: number[];
  series: Series[];
  title: string;
}

// Distinguishable for common colour blindness and at least 4.5:1 on white.
export const SERIES_COLOURS = ['#0b62a4', '#c2410c', '#047857', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

const W = 1100;
const H = 300;
const PAD = { left: 56, right: 44, top: 14, bottom: 32 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

/** A round axis maximum and step with at most five gridlines. */
export function niceScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 4, step: 1 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude);
  const wholeStep = Math.max(1, step);
  return { top: Math.ceil(max / wholeStep) * wholeStep, step: wholeStep };
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const fmt = (n: number) => n.toLocaleString('en-US');
const r1 = (n: number) => Math.round(n * 10) / 10;

export function attemptsChart(input: ChartInput): SafeHtml {
  const n = input.bucketStartsMs.length;
  const max = Math.max(0, ...input.series.flatMap((s) => s.values));
  const { top, step } = niceScale(max);
  const x = (i: number) => r1(PAD.left + (n <= 1 ? PLOT_W / 2 : (i / (n - 1)) * PLOT_W));
  const y = (v: number) => r1(PAD.top + PLOT_H - (v / top) * PLOT_H);
  const total = input.series.reduce((sum, s) => sum + s.values.reduce((a, b) => a + b, 0), 0);

  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="${v === 0 ? '#94a3b8' : '#e2e8f0'}" stroke-width="1"/>
      <text x="${PAD.left - 8}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#475569">${fmt(v)}</text>`);
  }
  // A label every 3 hours, on the hour, whatever the bucket size.
  const ticks = [];
  for (let i = 0; i < n; i++) {
    const ms = input.bucketStartsMs[i]!;
    if (ms % (3 * 3600_000) === 0) {
      ticks.push(html`<line x1="${x(i)}" x2="${x(i)}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H + 4}" stroke="#94a3b8"/>
        <text x="${x(i)}" y="${H - 12}" text-anchor="middle" font-size="11" fill="#475569">${hhmm(ms)}</text>`);
    }
  }
  const lines = input.series.map((s, k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length]!;
    const points = s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    const area = `${x(0)},${y(0)} ${points} ${x(n - 1)},${y(0)}`;
    return html`<g><title>${s.label}: ${fmt(s.values.reduce((a, b) => a + b, 0))} attempts</title>
      <polygon points="${area}" fill="${colour}" fill-opacity="${input.series.length > 1 ? 0.06 : 0.14}"/>
      <polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/></g>`;
  });
  const empty = total === 0
    ? html`<text x="${PAD.left + PLOT_W / 2}" y="${PAD.top + PLOT_H / 2}" text-anchor="middle" font-size="14" fill="#475569">No failed attempts in this period</text>`
    : '';

  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
    <title id="chart-title">${input.title}</title>
    <desc id="chart-desc">${fmt(total)} failed attempts in ${input.series.length} series; the table below the chart has the numbers.</desc>
    ${grid}${ticks}${lines}${empty}
    <text x="${W - 4}" y="${H - 12}" text-anchor="end" font-size="11" fill="#475569">UTC</text>
  </svg>`;
}
