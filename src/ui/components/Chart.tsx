// One Plotly chart. Plotly (≈4 MB) loads on first use; traces and layout are plain data, so a panel only says
// what to draw. data-points on the element counts the plotted points (the e2e tests read it).

import { useEffect, useRef, useState } from 'react';

type Plotly = (typeof import('plotly.js-dist-min'))['default'];
let plotly: Promise<Plotly> | undefined;
const loadPlotly = () => (plotly ??= import('plotly.js-dist-min').then((m) => m.default));

export interface Trace {
  x: (number | string)[];
  y: number[];
  name?: string;
  mode?: 'lines' | 'markers' | 'lines+markers' | 'text';
  type?: 'scatter' | 'bar';
  line?: { color?: string; dash?: 'solid' | 'dash' | 'dot'; width?: number };
  marker?: { color?: string; size?: number; symbol?: string };
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
  /** vertical marker lines (the sliders' positions) */
  vlines?: { x: number; color?: string; label?: string }[];
  emptyText?: string;
}

export function Chart({ title, traces, xTitle, yTitle, height = 300, yLog, vlines = [], emptyText = 'No data yet' }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState<string>();
  const points = traces.reduce((n, t) => n + t.x.length, 0);

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
          xaxis: { title: { text: xTitle }, gridcolor: '#eceff3', zeroline: false, automargin: true },
          yaxis: { title: { text: yTitle }, gridcolor: '#eceff3', zeroline: false, type: yLog ? 'log' : 'linear', automargin: true },
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
  }, [traces, height, xTitle, yTitle, yLog, vlines, multi]);

  useEffect(() => {
    const node = el.current;
    return () => {
      if (node) void loadPlotly().then((P) => P.purge(node));
    };
  }, []);

  return (
    <figure className="chart" data-testid="chart" data-title={title} data-points={points}>
      <figcaption>{title}</figcaption>
      {failed ? <p className="chart-empty">Chart could not be drawn: {failed}</p> : null}
      {/* no data: a quiet placeholder instead of empty axes */}
      {points === 0 && !failed ? <div className="chart-placeholder">{emptyText}</div> : null}
      <div ref={el} style={{ minHeight: points === 0 ? 0 : height, display: points === 0 ? 'none' : undefined }} />
    </figure>
  );
}
