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
import { fmt, plural } from '../lib/format';
import { RUN_COLORS, RUN_SHORT, fingerprint } from '../lib/study';
import { useLab } from '../store/store';
import type { RunSlot } from '../store/types';

const SLOTS: RunSlot[] = ['general', 'narrow', 'removeKl'];

export function TrajectoryPanel() {
  const runs = useLab((s) => s.runs);
  const checkpointEvery = useLab((s) => s.trainForm.checkpointEvery);
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
    // one legend entry each for the start and end markers, in grey (every run uses its own colour for them)
    if (out.length) {
      out.push({ x: [], y: [], name: 'start (first checkpoint)', mode: 'markers', marker: { color: '#495057', size: 11, symbol: 'circle-open' } });
      out.push({ x: [], y: [], name: 'end (last checkpoint)', mode: 'markers', marker: { color: '#495057', size: 11, symbol: 'square' } });
    }
    return out;
  }, [pca, ix, iy]);

  const variance: Trace[] = pca ? [{ x: pca.explainedVarianceRatio.map((_, i) => `PC${i + 1}`), y: pca.explainedVarianceRatio, type: 'bar', name: 'explained variance', marker: { color: '#5c7cfa' } }] : [];
  const top3 = pca ? pca.explainedVarianceRatio.slice(0, 3).reduce((a, b) => a + b, 0) : 0;
  // stale when a run gained checkpoints or was retrained since the PCA
  const stale = pca?.basis
    ? Object.entries(pca.basis.vectors)
        .filter(([slot, v]) => {
          const c = runs[slot as RunSlot]?.state?.checkpoints;
          return !c?.length || `${c.length}:${fingerprint(c.at(-1)!.v)}` !== v.print;
        })
        .map(([slot]) => RUN_SHORT[slot as RunSlot] ?? slot)
    : [];

  return (
    <div className="panel" data-testid="panel-trajectory">
      <PanelHead title="Trajectory" lead={`Where do the vectors travel while they train? PCA of all checkpoints (one is saved every ${plural(checkpointEvery, 'step')} with the current settings).`} />
      <p className="paper-line" data-testid="paper-line-trajectory">
        <strong>The paper:</strong> freed from its KL penalty, the narrow vector heads towards the general solution, and three components hold about 0.79 of the variance. Here, a result like the paper’s is the remove-KL path (from the narrow end) bending towards the general path’s end.
      </p>
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
                    <span className="swatch" style={{ background: RUN_COLORS[s] }} /> {RUN_SHORT[s]} <span className="muted">{plural(runs[s]?.state?.checkpoints.length ?? 0, 'checkpoint')}</span>
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
          {stale.length ? (
            <Message kind="warn" testId="pca-stale">
              Stale: {stale.join(', ')} {stale.length === 1 ? 'has' : 'have'} new checkpoints or {stale.length === 1 ? 'was' : 'were'} retrained since this PCA. Compute it again.
            </Message>
          ) : null}
          <Chart title="Trajectories in PC space" traces={traces} xTitle={`PC${ix + 1}${pca ? ` (${fmt(pca.explainedVarianceRatio[ix] ?? 0, 2)} of the variance)` : ''}`} yTitle={`PC${iy + 1}${pca ? ` (${fmt(pca.explainedVarianceRatio[iy] ?? 0, 2)})` : ''}`} height={380} emptyText="Compute the PCA to draw the trajectories" />
          {pca ? <p className="muted" data-testid="pca-top3">The first three components explain a fraction {fmt(top3, 2)} of the variance (fractions from 0 to 1; the paper: ≈ 0.79).</p> : null}
          <Chart title="Explained variance" traces={variance} xTitle="" yTitle="fraction of variance (0–1)" height={200} />
        </Card>
      </div>
    </div>
  );
}
