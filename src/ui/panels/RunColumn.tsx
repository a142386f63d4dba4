// One training run: start / resume, a progress bar with ETA and the run's one Cancel, the live numbers, and a
// chart for each of loss, KL and ‖αv‖. Every run's KL on the KL data is measured at its checkpoints (λ = 0
// included), so the general and narrow runs can be compared on the paper's point: how much they move other
// domains.

import { useMemo, type JSX } from 'react';
import { resumeRun, startRun } from '../actions/train';
import { exportRunAdapter, shareRunAdapter } from '../actions/adapters';
import { describeAdapter } from '../../lab/adapters/lora';
import { Card, Message, Stats } from '../components/Card';
import { Chart, type Trace } from '../components/Chart';
import { JobBar } from '../components/JobBar';
import { fmt, fmtKl, formatDuration, klShown } from '../lib/format';
import { RUN_COLORS } from '../lib/study';
import { useLab } from '../store/store';
import { RUN_LABELS, RUN_NAMES, type RunSlot } from '../store/types';

const STATUS_TEXT = { queued: 'waiting', running: 'training', done: 'done', cancelled: 'cancelled', interrupted: 'interrupted', error: 'failed' } as const;

function finalNorm(v: Float32Array | undefined, alpha: number): number | undefined {
  if (!v) return undefined;
  let s = 0;
  for (const x of v) s += x * x;
  return alpha * Math.sqrt(s);
}

export function RunColumn({ slot, blurb }: { slot: RunSlot; blurb: string }) {
  const run = useLab((s) => s.runs[slot]);
  const job = useLab((s) => s.jobs[`train:${slot}`]);
  const modelRepo = useLab((s) => s.model.info?.repo);
  const h = run?.history ?? [];
  const color = RUN_COLORS[slot];
  const name = RUN_NAMES[slot];
  // a LoRA run's norm is ‖θ‖ (every factor), a vector run's ‖αv‖
  const normName = run?.settings.adapter ? '‖θ‖' : '‖αv‖';
  const charts = useMemo(() => {
    const steps = h.map((r) => r.step);
    const loss: Trace[] = [{ x: steps, y: h.map((r) => r.ce), name: 'cross-entropy', mode: 'lines', line: { color } }];
    if (run && run.settings.lambdaKl > 0) loss.push({ x: steps, y: h.map((r) => r.loss), name: 'total = CE + λ·KL', mode: 'lines', line: { color, dash: 'dash' } });
    const kl: Trace[] = [];
    if (run && run.settings.lambdaKl > 0) kl.push({ x: steps, y: h.map((r) => klShown(r.kl)), name: 'KL of the training batch', mode: 'lines', line: { color } });
    const ev = run?.klEval ?? [];
    // a checkpoint after k updates holds the vector step k + 1 starts from: drawn there, it lines up with the
    // batch KL, loss and norm measured at that same vector (the last one, after the final step, is the saved vector)
    if (ev.length) kl.push({ x: ev.map((e) => e.step + 1), y: ev.map((e) => klShown(e.kl)), name: 'KL on the first KL rows (checkpoint vectors)', mode: 'lines+markers', line: { color, dash: 'dot' }, marker: { color, size: 6 } });
    const norm: Trace[] = [{ x: steps, y: h.map((r) => r.norm), name: normName, mode: 'lines', line: { color } }];
    return { loss, kl, norm };
  }, [h, run, color, normName]);
  const canResume = !job && run?.state && run.state.step < (run.totalSteps ?? run.state.totalSteps) && ['interrupted', 'cancelled', 'error'].includes(run.status);
  const last = run?.last ?? (h.length ? { ...h[h.length - 1]!, totalSteps: run?.totalSteps ?? 0, etaSec: NaN, tokensPerSec: NaN } : undefined);
  const klEval = run?.klEval?.at(-1);
  const fin = finalNorm(run?.state?.v, run?.settings.adapter ? 1 : (run?.settings.alpha ?? 1));
  return (
    <Card
      title={RUN_LABELS[slot]}
      className="run"
      testId={`run-${slot}`}
      aside={run ? <span className={`pill pill-${run.status}`} data-testid={`run-status-${slot}`}>{STATUS_TEXT[run.status]}</span> : null}
    >
      <p className="muted">{blurb}</p>
      {/* while it trains, the progress bar below carries the run's only Cancel */}
      {!job ? (
        <div className="row">
          <button className="btn primary" data-testid={`train-${slot}`} onClick={() => void startRun(slot)}>
            {run ? 'Train again' : 'Train'}
          </button>
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
      ) : null}
      {run?.settings.adapter ? <p className="muted" data-testid={`run-adapter-${slot}`}>LoRA: {describeAdapter(run.settings.adapter, run.state?.v.length)}</p> : null}
      <JobBar jobKey={`train:${slot}`} eta={job && run?.last ? run.last.etaSec : undefined} />
      {run?.status === 'interrupted' ? <Message kind="warn">The page closed while this run was training. It can continue from its last checkpoint (step {run.state?.step ?? 0}).</Message> : null}
      {run?.error ? <Message kind="error">{run.error}</Message> : null}
      {run && run.modelRepo !== modelRepo ? <p className="muted">Trained on {run.modelRepo}.</p> : null}
      {run ? <p className="muted small" data-testid={`run-data-${slot}`}>Data: {run.dataLabel}{run.klLabel ? ` · KL data: ${run.klLabel}` : ''}</p> : null}
      {last ? (
        <Stats
          items={[
            ['Step', `${last.step} of ${last.totalSteps || run?.totalSteps || '?'}`],
            ['CE', fmt(last.ce, 4)],
            ...(run && run.settings.lambdaKl > 0 ? ([['KL (batch)', fmtKl(last.kl, 5)], ['λ', fmt(run.settings.lambdaKl)]] as [string, string][]) : []),
            [normName, <span data-testid={`run-norm-${slot}`}>{fmt(last.norm, 3)}</span>],
            ['lr', fmt(last.lr)],
            ...(klEval ? ([[`KL on KL data (after step ${klEval.step})`, <span data-testid={`run-kleval-${slot}`}>{fmtKl(klEval.kl, 5)}</span>]] as [string, JSX.Element][]) : []),
            ...(fin !== undefined && run?.status === 'done' ? ([[`final ${normName}`, fmt(fin, 3)]] as [string, string][]) : []),
            ...(job && Number.isFinite(last.etaSec) ? ([['ETA', formatDuration(last.etaSec)], ['tokens/s', fmt(last.tokensPerSec, 0)]] as [string, string][]) : []),
          ]}
        />
      ) : null}
      <Chart title={`Loss — ${name}`} traces={charts.loss} xTitle="step" yTitle="loss" height={220} xInteger emptyText="Train to see the loss curve" />
      {charts.kl.length ? <Chart title={`KL — ${name}`} traces={charts.kl} xTitle="step" yTitle="KL per token" height={200} xInteger /> : null}
      <Chart title={`Norm — ${name}`} traces={charts.norm} xTitle="step" yTitle={normName} height={200} xInteger emptyText="Train to see the norm grow" />
    </Card>
  );
}
