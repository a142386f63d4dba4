// Stability (Fig 4b): rotate each vector by a random orthogonal direction of the same norm (x' = √(1−ε²)x + εy)
// and see how much of its loss reduction survives: 0 % = the trained vector, 100 % = the unsteered model.
// The general vector should degrade more slowly. Mean ± sd over noise seeds; an ε slider with on-demand points.

import { useMemo } from 'react';
import { useSticky } from '../lib/sticky';
import { probeStability, resumeStability, runStability } from '../actions/analysis';
import { STABILITY_EPS } from '../../lab/sweeps/grids';
import { ResultStatus } from '../components/ResultStatus';
import { costText, getTiming, timingKey } from '../lib/cost';
import { Card, Message, PanelHead } from '../components/Card';
import { Chart, type Trace } from '../components/Chart';
import { Field, NumberInput, Slider } from '../components/Field';
import { JobBar } from '../components/JobBar';
import { fmt, plural } from '../lib/format';
import { interpolate } from '../lib/interp';
import { colorOf, labelOf, useStudy } from '../lib/study';
import { useLab } from '../store/store';
import { StudyVectors } from './StudyVectors';

export function StabilityPanel() {
  const st = useLab((s) => s.stability);
  const study = useStudy();
  const ready = useLab((s) => s.model.status === 'ready' && s.data.train.status === 'ready');
  const [rows, setRows] = useSticky('stability.rows', st.rows);
  const [seeds, setSeeds] = useSticky('stability.seeds', st.seeds);
  const [eps, setEps] = useSticky('stability.eps', 0.3);
  const repo = useLab((s) => s.model.info?.repo ?? '');
  const busy = useLab((s) => s.jobs.stability);
  // the percentage is a share of the loss reduction L(chat) − L(x): with none, there is nothing to share
  const noGain = (c: { lossTrained: number; lossChat: number }) => Number.isFinite(c.lossTrained) && Number.isFinite(c.lossChat) && c.lossTrained >= c.lossChat;

  const traces = useMemo(() => {
    const out: Trace[] = [];
    for (const [k, c] of Object.entries(st.curves)) {
      if (noGain(c)) continue;
      const color = colorOf(study, k);
      out.push({
        x: c.points.map((p) => p.eps),
        y: c.points.map((p) => p.mean),
        name: labelOf(study, k),
        mode: 'lines+markers',
        line: { color },
        marker: { color, size: 6 },
        error_y: { type: 'data', array: c.points.map((p) => p.sd), visible: true, color, thickness: 1.2 },
      });
    }
    for (const [k, ps] of Object.entries(st.probes)) {
      if (st.curves[k] && noGain(st.curves[k]!)) continue;
      const color = colorOf(study, k);
      out.push({ x: ps.map((p) => p.eps), y: ps.map((p) => p.mean), name: `${labelOf(study, k)} (evaluated)`, mode: 'markers', marker: { color, size: 12, symbol: 'diamond' }, showlegend: false, error_y: { type: 'data', array: ps.map((p) => p.sd), visible: true, color } });
    }
    return out;
  }, [st, study]);

  const readout = Object.entries(st.curves).map(([k, c]) => {
    const probe = st.probes[k]?.find((p) => p.eps === eps);
    return { k, value: probe?.mean ?? interpolate(c.points.map((p) => p.eps), c.points.map((p) => p.mean), eps), sd: probe?.sd, ref: c };
  });

  return (
    <div className="panel" data-testid="panel-stability">
      <PanelHead title="Stability" lead={`Is the trained vector a broad basin or a narrow ridge? Mix in orthogonal noise of the same norm and measure how much of the loss reduction is lost, on ${plural(rows, 'training row')} with ${plural(seeds, 'noise seed')} (the paper: 100 rows, 10 seeds).`} />
      <p className="paper-line" data-testid="paper-line-stability">
        <strong>The paper:</strong> the general vector’s loss rises more slowly with ε than the narrow one’s. Here, a result like the paper’s is the general curve below the narrow curve at small and middle ε.
      </p>
      {!ready ? <Message kind="info">Needs a model, training data and at least one trained vector.</Message> : null}
      <div className="grid-side">
        <div>
          <StudyVectors />
          <Card title="Sweep">
            <div className="grid-2 tight">
              <Field label="Rows">
                <NumberInput value={rows} integer min={1} onChange={(v) => v !== null && setRows(v)} testId="stability-rows" />
              </Field>
              <Field label="Noise seeds">
                <NumberInput value={seeds} integer min={1} max={100} onChange={(v) => v !== null && setSeeds(v)} testId="stability-seeds" />
              </Field>
            </div>
            <p className="muted">The paper's grid: ε = 0.01, 0.05, 0.1, then steps of 0.1 up to 1.</p>
            {study.length ? <p className="muted small" data-testid="stability-cost">Cost: {costText(study.length * STABILITY_EPS.length, getTiming(timingKey('stability', repo, `${rows}x${seeds}`)))}</p> : null}
            <button className="btn primary" data-testid="run-stability" disabled={!ready || !study.length || !!busy} onClick={() => void runStability(rows, seeds)}>
              Run stability sweep
            </button>
            <JobBar jobKey="stability" />
            <ResultStatus meta={st.meta} study={study} onResume={() => void resumeStability()} testId="stability-status" />
          </Card>
        </div>
        <Card title="Relative loss increase (Fig 4b)">
          <Chart title="Relative loss increase vs ε" traces={traces} xTitle="ε (noise fraction)" yTitle="relative loss increase (%)" height={340} vlines={[{ x: eps, label: `ε = ${eps}` }]} emptyText="Run the sweep to draw the curves" />
          <Slider label="ε" value={eps} min={0} max={1} step={0.01} onChange={setEps} testId="stability-slider" />
          <table className="table compact" data-testid="stability-readout">
            <tbody>
              {readout.map((r) => (
                <tr key={r.k}>
                  <td>
                    <span className="swatch" style={{ background: colorOf(study, r.k) }} /> {labelOf(study, r.k)}
                  </td>
                  <td data-testid={`stability-value-${r.k}`}>
                    {noGain(r.ref)
                      ? 'no percentage: this vector does not lower the loss (L(x) ≥ L(chat)), so there is no reduction to lose'
                      : r.value === undefined
                        ? '–'
                        : `${r.value >= 0 ? '+' : ''}${fmt(r.value, 1)} %${r.sd !== undefined ? ` ± ${fmt(r.sd, 1)}` : ' (interpolated)'}`}
                  </td>
                  <td className="muted">
                    L(x) {fmt(r.ref.lossTrained, 4)} · L(chat) {fmt(r.ref.lossChat, 4)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">
            L(x) is the training loss with the trained vector, L(chat) without any vector (the chat model). The percentage is (L(x′) − L(x)) / (L(chat) − L(x)): 0 % keeps all of the vector’s loss reduction, 100 % loses all of it.
          </p>
          <button className="btn" data-testid="probe-stability" disabled={!ready || !study.length} onClick={() => void probeStability(eps)}>
            Evaluate at ε = {eps} ({plural(st.seeds, 'seed')})
          </button>
          <JobBar jobKey="stability-probe" />
        </Card>
      </div>
    </div>
  );
}
