// How long the study takes with the settings on the page, from the measured GPU speed (README "What it means for a
// user"), and the two presets a student picks by the time they have: the Workshop preset and the paper's settings.

import { useState } from 'react';
import { loadFormData } from '../actions/data';
import { Card, Message } from '../components/Card';
import { formatDuration, plural } from '../lib/format';
import { applyPrefill, type Prefill } from '../lib/prefill';
import { PAPER_TRAIN_ROWS, paperPrefill, presetStudySeconds, workshopPrefill } from '../lib/presets';
import { getSticky } from '../lib/sticky';
import { notify, useLab } from '../store/store';
import { PAPER_SWEEPS } from '../../lab/sweeps/grids';
import { estimateStudySeconds } from '../../lab/sweeps/estimate';
import { LAPTOP_FACTOR, MEASURED_STEP_MS_4x128, WORKSHOP } from '../../lab/train/defaults';

/** The sweep panels' sizes as they stand (what a preset or the guide set, else the panels' starting values). */
function sweepSizesNow(): typeof PAPER_SWEEPS {
  const g = (k: string, d: number) => getSticky<number>(k) ?? d;
  const p = PAPER_SWEEPS;
  return {
    efficiencyRows: g('efficiency.rows', p.efficiencyRows),
    stabilityRows: g('stability.rows', p.stabilityRows),
    stabilitySeeds: g('stability.seeds', p.stabilitySeeds),
    finewebDocs: g('pretrain.docs', p.finewebDocs),
    finewebMaxTokens: g('pretrain.maxTokens', p.finewebMaxTokens),
    finewebPoints: g('pretrain.points', p.finewebPoints),
    finewebSeeds: g('pretrain.seeds', p.finewebSeeds),
  };
}

export function TimeEstimateCard() {
  const f = useLab((s) => s.trainForm);
  const d = useLab((s) => s.dataForm);
  const loadedRows = useLab((s) => (s.data.train.status === 'ready' ? s.data.train.summary?.train : undefined));
  const [changes, setChanges] = useState<string[] | null>(null);
  // rows: what is loaded, else what the Data form will read (10 % held out), else the paper's full set
  const rows = loadedRows ?? (d.limit ? Math.round(d.limit * (1 - d.heldOutFraction)) : PAPER_TRAIN_ROWS);
  const epochs = f.budget === 'steps' ? ((f.steps ?? 20) * f.accumulation * f.microBatch) / Math.max(1, rows) : (f.epochs ?? 1);
  const sizes = sweepSizesNow();
  const now = estimateStudySeconds({ ...f, epochs }, f.narrowLambda, rows, sizes, d.maxLen);
  const gpu = estimateStudySeconds({ ...f, epochs }, f.narrowLambda, rows, sizes, d.maxLen, 1);
  const workshop = presetStudySeconds('workshop');
  const paper = presetStudySeconds('paper');
  const use = async (name: string, p: Prefill) => {
    const changed = applyPrefill(p);
    setChanges(changed);
    // the data has to be read again when its rows or length changed (and a model is there to tokenise it)
    const loaded = useLab.getState().model.status === 'ready' ? await loadFormData() : '';
    notify('info', `${name}: ${changed.length ? `changed ${changed.join('; ')}` : 'the settings already matched'}.${loaded ? ` ${loaded}` : ''}`, { where: 'Train' });
  };
  return (
    <Card title="How long this takes" testId="time-estimate">
      <p data-testid="time-estimate-now">
        With these settings ({plural(rows, 'training row')}{loadedRows === undefined ? (d.limit ? ', once read' : ', the paper’s full set') : ''}, ≤ {d.maxLen} tokens): the general run ≈{' '}
        <strong>{formatDuration(now.general)}</strong>, the narrow run ≈ <strong>{formatDuration(now.narrow)}</strong>, the three sweeps on both vectors ≈{' '}
        <strong>{formatDuration(now.sweeps.total)}</strong> on a laptop-class GPU for a model of Qwen2.5-0.5B’s size; {formatDuration(gpu.total)} in all on an H100.
      </p>
      <div className="row">
        <button className="btn" data-testid="preset-workshop" onClick={() => void use('Workshop preset', workshopPrefill())}>
          Workshop preset: ≈ {formatDuration(workshop.total)}
        </button>
        <button className="btn" data-testid="preset-paper" onClick={() => void use('The paper’s settings', paperPrefill())}>
          The paper’s settings: ≈ {formatDuration(paper.total)}
        </button>
      </div>
      <p className="muted small">
        Workshop: {plural(WORKSHOP.rows, 'row')} of ≤ {WORKSHOP.maxLen} tokens, {plural(WORKSHOP.train.epochs, 'epoch')}, micro-batch {WORKSHOP.train.microBatch}, KL batch{' '}
        {WORKSHOP.train.klBatch}; sweeps on {WORKSHOP.sweeps.efficiencyRows} rows, {plural(WORKSHOP.sweeps.stabilitySeeds, 'noise seed')}, {WORKSHOP.sweeps.finewebDocs} FineWeb
        documents of ≤ {WORKSHOP.sweeps.finewebMaxTokens} tokens. Times are for a steering vector, from the step measured through WebGPU on an H100 ({MEASURED_STEP_MS_4x128} ms for 4 × 128
        tokens) and assuming a laptop-class GPU is {LAPTOP_FACTOR}× slower (an assumption, not a measurement); the sweep panels show this device’s own times once a sweep has run.
      </p>
      {changes ? (
        <Message kind="info" testId="preset-changes">
          {changes.length ? `Changed: ${changes.join('; ')}` : 'Nothing to change: the settings already matched.'}
        </Message>
      ) : null}
    </Card>
  );
}
