// One Plotly chart. Plotly (≈4 MB) loads on first use; traces and layout are plain data, so a panel only says
// what to draw. data-points on the element counts the plotted points (the e2e tests read it).

import { useEffect, useMemo, useRef, useState } from 'react';
import { plural } from '../lib/format';

type Plotly = (typeof import('plotly.js-dist-min'))['default'];
let plotly: Promise<Plotly> | undefined;
const loadPlotly = () => (plotly ??= import('plotly.js-dist-min').then((m) => m.default));

export interface Trace {
  x: (number | string)[];
  y: (number | string)[];
  name?: string;
  mode?: 'lines' | 'markers' | 'lines+markers' | 'text';
  type?: 'scatter' | 'bar';
  /** 'h': horizontal bars (y holds the names) */
  orientation?: 'h' | 'v';
  line?: { color?: string; dash?: 'solid' | 'dash' | 'dot'; width?: number };
  marker?: { color?: string | string[]; size?: number; symbol?: string };
  error_y?: { type: 'data'; array: number[]; visible: boolean; color?: string; thickness?: number };
  fill?: 'tonexty' | 'none';
  fillcolor?: string;
  showlegend?: boolean;
  hovertemplate?: string;
  text?: string[];
  textposition?: string;
}

export interface ChartProps {
  title: string;
  traces: Trace[];
  xTitle: string;
  yTitle: string;
  height?: number;
  yLog?: boolean;
  /** the x values are counts (steps): integer ticks only */
  xInteger?: boolean;
  /** vertical marker lines (the sliders' positions) */
  vlines?: { x: number; color?: string; label?: string }[];
  emptyText?: string;
}

/** A tick step of 1, 2 or 5 × 10^k giving about six integer ticks over the span (never below 1). */
export function integerTickStep(span: number): number {
  const raw = span / 6;
  if (!(raw > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw)!;
}

/** On a log axis, 0 and negative values have no place: they are left out, and counted so the chart can say so. */
export function forLogAxis(traces: Trace[]): { traces: Trace[]; dropped: number } {
  let dropped = 0;
  const out = traces.map((t) => {
    const keep = t.y.map((y) => typeof y === 'number' && Number.isFinite(y) && y > 0);
    const n = keep.filter((k) => !k).length;
    if (!n) return t;
    dropped += n;
    const pick = <T,>(xs: T[] | undefined) => xs?.filter((_, i) => keep[i]);
    return { ...t, x: pick(t.x)!, y: pick(t.y)!, text: pick(t.text), error_y: t.error_y ? { ...t.error_y, array: pick(t.error_y.array)! } : undefined };
  });
  return { traces: out, dropped };
}

export function Chart({ title, traces: given, xTitle, yTitle, height = 300, yLog, xInteger, vlines = [], emptyText = 'No data yet' }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string>();
  const { traces, dropped } = useMemo(() => (yLog ? forLogAxis(given) : { traces: given, dropped: 0 }), [given, yLog]);
  const points = traces.reduce((n, t) => n + t.x.length, 0);
  const xStep = useMemo(() => {
    if (!xInteger) return undefined;
    const xs = traces.flatMap((t) => t.x.filter((x): x is number => typeof x === 'number'));
    return xs.length ? integerTickStep(Math.max(...xs) - Math.min(...xs)) : 1;
  }, [traces, xInteger]);

  const multi = traces.filter((t) => t.showlegend !== false).length > 1;

  useEffect(() => {
    let alive = true;
    const node = el.current;
    if (!node) return;
    loadPlotly()
      .then((P) => {
        if (!alive) return;
        const layout = {
          height,
          margin: { l: 64, r: 16, t: multi ? 34 : 16, b: 44 },
          paper_bgcolor: 'rgba(0,0,0,0)',
          plot_bgcolor: 'rgba(0,0,0,0)',
          font: { family: 'Inter, system-ui, sans-serif', size: 12, color: '#343a40' },
          // 'power' writes 2×10⁻⁸, never Plotly's SI "20n"; integer axes tick at whole numbers only
          xaxis: { title: { text: xTitle }, gridcolor: '#eceff3', zeroline: false, automargin: true, exponentformat: 'power', ...(xStep ? { tick0: 0, dtick: xStep, tickformat: 'd' } : {}) },
          // '-' lets Plotly pick the axis type (categories for the library's named bars); log only when asked
          yaxis: { title: { text: yTitle }, gridcolor: '#eceff3', zeroline: false, type: yLog ? 'log' : '-', automargin: true, exponentformat: 'power' },
          // above the plot, where it never covers the axis titles
          legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom', font: { size: 11 } },
          showlegend: multi,
          shapes: vlines.map((v) => ({ type: 'line', x0: v.x, x1: v.x, yref: 'paper', y0: 0, y1: 1, line: { color: v.color ?? '#212529', width: 1.5, dash: 'dot' } })),
          annotations: vlines.filter((v) => v.label).map((v) => ({ x: v.x, yref: 'paper', y: 1, text: v.label, showarrow: false, yanchor: 'bottom', font: { size: 11 } })),
        };
        return P.react(node, traces, layout, { displaylogo: false, responsive: true, displayModeBar: false });
      })
      .catch((e: Error) => setFailed(e.message));
    return () => {
      alive = false;
    };
  }, [traces, height, xTitle, yTitle, yLog, vlines, multi, xStep]);

  useEffect(() => {
    const node = el.current;
    return () => {
      if (node) void loadPlotly().then((P) => P.purge(node));
    };
  }, []);

  return (
    <figure className="chart" data-testid="chart" data-title={title} data-points={points}>
      <figcaption>{title}</figcaption>
      {dropped ? <p className="chart-note" data-testid="chart-log-dropped">{plural(dropped, 'point')} at 0 not drawn: a log scale has no 0.</p> : null}
      {failed ? <p className="chart-empty">Chart could not be drawn: {failed}</p> : null}
      {/* no data: a quiet placeholder instead of empty axes */}
      {points === 0 && !failed ? <div className="chart-placeholder">{emptyText}</div> : null}
      <div ref={el} style={{ minHeight: points === 0 ? 0 : height, display: points === 0 ? 'none' : undefined }} />
    </figure>
  );
}
