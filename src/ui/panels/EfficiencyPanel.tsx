// Efficiency (Fig 4a): the SFT loss of 100 training rows as each vector is rescaled, against its norm. The
// general vector should sit lower at equal norm: it buys more loss reduction per unit of norm. A slider moves a
// marker along the norm axis; "evaluate" computes that exact point for every vector.

import { useMemo } from 'react';
import { useSticky } from '../lib/sticky';
import { probeEfficiency, resumeEfficiency, runEfficiency } from '../actions/analysis';
import { EFFICIENCY_SCALES } from '../../lab/sweeps/grids';
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

export function EfficiencyPanel() {
  const eff = useLab((s) => s.efficiency);
  const study = useStudy();
  const busy = useLab((s) => s.jobs.efficiency);
  const ready = useLab((s) => s.model.status === 'ready' && s.data.train.status === 'ready');
  const repo = useLab((s) => s.model.info?.repo ?? '');
  const [rows, setRows] = useSticky<number>('efficiency.rows', eff.rows);
  const maxNorm = Math.max(1, ...Object.values(eff.curves).flatMap((c) => c.byScale.map((p) => p.norm)), ...study.map((v) => 2 * v.norm));
  const [norm, setNorm] = useSticky<number>('efficiency.norm', () => study[0]?.norm ?? 1);

  const { loss, perNorm } = useMemo(() => {
    const loss: Trace[] = [];
    const perNorm: Trace[] = [];
    for (const [k, c] of Object.entries(eff.curves)) {
      const pts = [...c.byScale, ...c.byNorm].sort((a, b) => a.norm - b.norm);
      const color = colorOf(study, k);
      loss.push({ x: pts.map((p) => p.norm), y: pts.map((p) => p.loss), name: labelOf(study, k), mode: 'lines+markers', line: { color }, marker: { color, size: 6 } });
      const pos = pts.filter((p) => p.lossPerNormSq !== undefined);
      perNorm.push({ x: pos.map((p) => p.norm), y: pos.map((p) => p.lossPerNormSq!), name: labelOf(study, k), mode: 'lines+markers', line: { color }, marker: { color, size: 5 } });
    }
    for (const [k, ps] of Object.entries(eff.probes)) {
      const color = colorOf(study, k);
      loss.push({ x: ps.map((p) => p.norm), y: ps.map((p) => p.loss), name: `${labelOf(study, k)} (evaluated)`, mode: 'markers', marker: { color, size: 12, symbol: 'diamond' }, showlegend: false });
    }
    return { loss, perNorm };
  }, [eff, study]);

  const readout = Object.entries(eff.curves).map(([k, c]) => {
    const pts = [...c.byScale, ...c.byNorm];
    // the evaluated norm is the float32 vector's own, equal to the slider's within rounding
    const probe = eff.probes[k]?.find((p) => Math.abs(p.norm - norm) <= 1e-4 * Math.max(1, norm));
    return { k, value: probe?.loss ?? interpolate(pts.map((p) => p.norm), pts.map((p) => p.loss), norm), exact: !!probe };
  });

  return (
    <div className="panel" data-testid="panel-efficiency">
      <PanelHead title="Efficiency" lead={`How much does each vector lower the training loss for a given norm? Each vector is rescaled from 0 to twice its trained norm and the loss measured on ${plural(rows, 'training row')} (sampled with seed 42; the paper used 100).`} />
      <p className="paper-line" data-testid="paper-line-efficiency">
        <strong>The paper:</strong> the general vector’s curve lies below the narrow one’s at equal norm. Here, a result like the paper’s is the general line under the narrow line across the norm axis.
      </p>
      {!ready ? <Message kind="info">Needs a model, training data and at least one trained vector.</Message> : null}
      <div className="grid-side">
        <div>
          <StudyVectors />
          <Card title="Sweep">
            <Field label="Rows evaluated">
              <NumberInput value={rows} integer min={1} onChange={(v) => v !== null && setRows(v)} testId="efficiency-rows" />
            </Field>
            {study.length ? <p className="muted small" data-testid="efficiency-cost">Cost: {costText(study.length * EFFICIENCY_SCALES.length, getTiming(timingKey('efficiency', repo, rows)))}</p> : null}
            <button className="btn primary" data-testid="run-efficiency" disabled={!ready || !study.length || !!busy} onClick={() => void runEfficiency(rows)}>
              Run efficiency sweep
            </button>
            <JobBar jobKey="efficiency" />
            <ResultStatus meta={eff.meta} study={study} onResume={() => void resumeEfficiency()} testId="efficiency-status" />
          </Card>
        </div>
        <Card title="Loss against norm (Fig 4a)">
          <Chart title="Loss vs norm" traces={loss} xTitle="‖αv‖" yTitle="SFT loss" height={340} vlines={[{ x: norm, label: `‖αv‖ = ${fmt(norm, 2)}` }]} emptyText="Run the sweep to draw the curves" />
          <Slider label="Norm" value={norm} min={0} max={maxNorm} step={maxNorm / 200} onChange={setNorm} format={(v) => fmt(v, 2)} testId="efficiency-slider" />
          <table className="table compact" data-testid="efficiency-readout">
            <tbody>
              {readout.map((r) => (
                <tr key={r.k}>
                  <td>
                    <span className="swatch" style={{ background: colorOf(study, r.k) }} /> {labelOf(study, r.k)}
                  </td>
                  <td>{r.value === undefined ? '–' : `${fmt(r.value, 4)}${r.exact ? '' : ' (interpolated)'}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button className="btn" data-testid="probe-efficiency" disabled={!ready || !study.length} onClick={() => void probeEfficiency(norm)}>
            Evaluate at ‖αv‖ = {fmt(norm, 2)}
          </button>
          <JobBar jobKey="efficiency-probe" />
          <Chart title="Loss per squared norm" traces={perNorm} xTitle="‖αv‖" yTitle="L(θ) / ‖θ‖²" height={240} yLog />
        </Card>
      </div>
    </div>
  );
}
