// Trajectories (Fig 5): the checkpoints of the runs, stacked, standardised and projected on their principal
// components; one line per run from start (circle) to end (square). The remove-KL continuation shows whether a
// narrow vector, freed from its KL penalty, heads back to the general solution.

import { useMemo } from 'react';
import { useSticky } from '../lib/sticky';
import { runPca } from '../actions/analysis';
import { startRun } from '../actions/train';
import { Card, Message, PanelHead } from '../components/Card';
import { Chart, type Trace } from '../components/Chart';
import { Check, Field } from '../components/Field';
import { JobBar } from '../components/JobBar';
import { fmt } from '../lib/format';
import { RUN_COLORS, RUN_SHORT } from '../lib/study';
import { useLab } from '../store/store';
import type { RunSlot } from '../store/types';

const SLOTS: RunSlot[] = ['general', 'narrow', 'removeKl'];

export function TrajectoryPanel() {
  const runs = useLab((s) => s.runs);
  const pca = useLab((s) => s.pca);
  const [pick, setPick] = useSticky<RunSlot[]>('trajectory.runs', SLOTS);
  const [ix, setIx] = useSticky('trajectory.x', 0);
  const [iy, setIy] = useSticky('trajectory.y', 1);
  const k = pca?.explainedVarianceRatio.length ?? 0;

  const traces = useMemo(() => {
    if (!pca) return [];
    const out: Trace[] = [];
    for (const p of pca.projections) {
      const slot = p.name as RunSlot;
      const color = RUN_COLORS[slot] ?? '#495057';
      const xs = p.coords.map((c) => c[ix] ?? 0);
      const ys = p.coords.map((c) => c[iy] ?? 0);
      out.push({ x: xs, y: ys, name: RUN_SHORT[slot] ?? p.name, mode: 'lines+markers', line: { color }, marker: { color, size: 4 } });
      out.push({ x: xs.slice(0, 1), y: ys.slice(0, 1), name: 'start', mode: 'markers', marker: { color, size: 11, symbol: 'circle-open' }, showlegend: false });
      out.push({ x: xs.slice(-1), y: ys.slice(-1), name: 'end', mode: 'markers', marker: { color, size: 11, symbol: 'square' }, showlegend: false });
    }
    return out;
  }, [pca, ix, iy]);

  const variance: Trace[] = pca ? [{ x: pca.explainedVarianceRatio.map((_, i) => `PC${i + 1}`), y: pca.explainedVarianceRatio.map((v) => v * 100), type: 'bar', name: 'explained variance', marker: { color: '#5c7cfa' } }] : [];
  const top3 = pca ? pca.explainedVarianceRatio.slice(0, 3).reduce((a, b) => a + b, 0) : 0;

  return (
    <div className="panel" data-testid="panel-trajectory">
      <PanelHead title="Trajectory" lead="Where do the vectors travel while they train? PCA of all checkpoints (a checkpoint is saved every few steps)." />
      <div className="grid-side">
        <div>
          <Card title="Runs">
            {SLOTS.map((s) => (
              <Check
                key={s}
                checked={pick.includes(s)}
                onChange={(on) => setPick(on ? [...pick, s] : pick.filter((x) => x !== s))}
                label={
                  <>
                    <span className="swatch" style={{ background: RUN_COLORS[s] }} /> {RUN_SHORT[s]} <span className="muted">{runs[s]?.state?.checkpoints.length ?? 0} checkpoints</span>
                  </>
                }
              />
            ))}
            <button className="btn primary" data-testid="run-pca" onClick={() => void runPca(pick)}>
              Compute PCA
            </button>
            <JobBar jobKey="pca" />
          </Card>
          <Card title="Remove-KL continuation">
            <p className="muted">Continue the finished narrow vector with λ = 0 for the same budget. In the paper it drifts towards the general solution.</p>
            <button className="btn" data-testid="start-remove-kl" disabled={runs.narrow?.status !== 'done'} onClick={() => void startRun('removeKl')}>
              Continue narrow without KL
            </button>
            <JobBar jobKey="train:removeKl" />
            {runs.narrow?.status !== 'done' ? <Message kind="info">Train the narrow vector first (Train panel).</Message> : null}
          </Card>
        </div>
        <Card title="Principal components (Fig 5)">
          <div className="row">
            <Field label="x axis">
              <select value={ix} onChange={(e) => setIx(Number(e.target.value))}>
                {Array.from({ length: Math.max(k, 1) }, (_, i) => (
                  <option key={i} value={i}>
                    PC{i + 1}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="y axis">
              <select value={iy} onChange={(e) => setIy(Number(e.target.value))}>
                {Array.from({ length: Math.max(k, 2) }, (_, i) => (
                  <option key={i} value={i}>
                    PC{i + 1}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <Chart title="Trajectories in PC space" traces={traces} xTitle={`PC${ix + 1}${pca ? ` (${fmt((pca.explainedVarianceRatio[ix] ?? 0) * 100, 1)} %)` : ''}`} yTitle={`PC${iy + 1}${pca ? ` (${fmt((pca.explainedVarianceRatio[iy] ?? 0) * 100, 1)} %)` : ''}`} height={380} emptyText="Compute the PCA to draw the trajectories" />
          {pca ? <p className="muted">The first three components explain {fmt(top3 * 100, 1)} % of the variance (the paper: ≈ 79 %).</p> : null}
          <Chart title="Explained variance" traces={variance} xTitle="" yTitle="% of variance" height={200} />
        </Card>
      </div>
    </div>
  );
}
