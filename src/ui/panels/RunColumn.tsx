// One training run: start / cancel / resume, a progress bar with ETA, the live numbers, and a chart for each of
// loss, KL and ‖αv‖.

import { useMemo } from 'react';
import { cancelRun, resumeRun, startRun } from '../actions/train';
import { exportRunAdapter, shareRunAdapter } from '../actions/adapters';
import { describeAdapter } from '../../lab/adapters/lora';
import { Card, Message, Stats } from '../components/Card';
import { Chart, type Trace } from '../components/Chart';
import { JobBar } from '../components/JobBar';
import { fmt, formatDuration } from '../lib/format';
import { RUN_COLORS } from '../lib/study';
import { useLab } from '../store/store';
import { RUN_LABELS, type RunSlot } from '../store/types';

const STATUS_TEXT = { queued: 'waiting', running: 'training', done: 'done', cancelled: 'cancelled', interrupted: 'interrupted', error: 'failed' } as const;

export function RunColumn({ slot, blurb }: { slot: RunSlot; blurb: string }) {
  const run = useLab((s) => s.runs[slot]);
  const job = useLab((s) => s.jobs[`train:${slot}`]);
  const modelRepo = useLab((s) => s.model.info?.repo);
  const h = run?.history ?? [];
  const color = RUN_COLORS[slot];
  // a LoRA run's norm is ‖θ‖ (every factor), a vector run's ‖αv‖
  const normName = run?.settings.adapter ? '‖θ‖' : '‖αv‖';
  const charts = useMemo(() => {
    const steps = h.map((r) => r.step);
    const loss: Trace[] = [{ x: steps, y: h.map((r) => r.ce), name: 'cross-entropy', mode: 'lines', line: { color } }];
    if (run && run.settings.lambdaKl > 0) loss.push({ x: steps, y: h.map((r) => r.loss), name: 'total = CE + λ·KL', mode: 'lines', line: { color, dash: 'dash' } });
    const kl: Trace[] = [{ x: steps, y: h.map((r) => r.kl), name: 'KL', mode: 'lines', line: { color } }];
    const norm: Trace[] = [{ x: steps, y: h.map((r) => r.norm), name: normName, mode: 'lines', line: { color } }];
    return { loss, kl, norm };
  }, [h, run, color, normName]);
  const canResume = !job && run?.state && run.state.step < (run.totalSteps ?? run.state.totalSteps) && ['interrupted', 'cancelled', 'error'].includes(run.status);
  const last = run?.last ?? (h.length ? { ...h[h.length - 1]!, totalSteps: run?.totalSteps ?? 0, etaSec: NaN, tokensPerSec: NaN } : undefined);
  return (
    <Card
      title={RUN_LABELS[slot]}
      className="run"
      testId={`run-${slot}`}
      aside={run ? <span className={`pill pill-${run.status}`} data-testid={`run-status-${slot}`}>{STATUS_TEXT[run.status]}</span> : null}
    >
      <p className="muted">{blurb}</p>
      <div className="row">
        {!job ? (
          <button className="btn primary" data-testid={`train-${slot}`} onClick={() => void startRun(slot)}>
            {run ? 'Train again' : 'Train'}
          </button>
        ) : (
          <button className="btn" onClick={() => cancelRun(slot)}>
            Cancel
          </button>
        )}
        {canResume ? (
          <button className="btn" data-testid={`resume-${slot}`} onClick={() => void resumeRun(slot)}>
            Resume from step {run!.state!.step}
          </button>
        ) : null}
        {run?.settings.adapter && run.state && run.status === 'done' ? (
          <>
            <button className="btn" data-testid={`export-adapter-${slot}`} onClick={() => void exportRunAdapter(slot)}>
              Export PEFT files
            </button>
            {run.settings.adapter.rank === 1 ? (
              <button
                className="btn"
                data-testid={`share-adapter-${slot}`}
                onClick={() => {
                  const url = shareRunAdapter(slot);
                  if (url) void navigator.clipboard?.writeText(url);
                }}
              >
                Copy share link
              </button>
            ) : null}
          </>
        ) : null}
      </div>
      {run?.settings.adapter ? <p className="muted" data-testid={`run-adapter-${slot}`}>LoRA: {describeAdapter(run.settings.adapter, run.state?.v.length)}</p> : null}
      <JobBar jobKey={`train:${slot}`} eta={job && run?.last ? run.last.etaSec : undefined} />
      {run?.status === 'interrupted' ? <Message kind="warn">The page closed while this run was training. It can continue from its last checkpoint (step {run.state?.step ?? 0}).</Message> : null}
      {run?.error ? <Message kind="error">{run.error}</Message> : null}
      {run && run.modelRepo !== modelRepo ? <p className="muted">Trained on {run.modelRepo}.</p> : null}
      {last ? (
        <Stats
          items={[
            ['Step', `${last.step} / ${last.totalSteps || run?.totalSteps || '?'}`],
            ['CE', fmt(last.ce, 4)],
            ...(run && run.settings.lambdaKl > 0 ? ([['KL', fmt(last.kl, 5)], ['λ', fmt(run.settings.lambdaKl)]] as [string, string][]) : []),
            [normName, <span data-testid={`run-norm-${slot}`}>{fmt(last.norm, 3)}</span>],
            ['lr', fmt(last.lr)],
            ...(job && Number.isFinite(last.etaSec) ? ([['ETA', formatDuration(last.etaSec)], ['tokens/s', fmt(last.tokensPerSec, 0)]] as [string, string][]) : []),
          ]}
        />
      ) : null}
      <Chart title={`Loss — ${slot}`} traces={charts.loss} xTitle="step" yTitle="loss" height={220} emptyText="Train to see the loss curve" />
      {run && run.settings.lambdaKl > 0 ? <Chart title={`KL — ${slot}`} traces={charts.kl} xTitle="step" yTitle="KL per token" height={200} /> : null}
      <Chart title={`Norm — ${slot}`} traces={charts.norm} xTitle="step" yTitle={normName} height={200} emptyText="Train to see the norm grow" />
    </Card>
  );
}
