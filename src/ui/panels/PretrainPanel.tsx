// Pre-training significance (Fig 6): how much does each vector change the model's predictions on ordinary web
// text? FineWeb documents (cached in this browser), KL(p_chat ‖ p_steered) per token as each vector is rescaled,
// against random directions of the same norms. Expected: general > narrow > random.

import { useMemo } from 'react';
import { PAPER_SWEEPS } from '../../lab/sweeps/grids';
import { useSticky } from '../lib/sticky';
import { fetchFineweb, resumeFinewebKl, runFinewebKl } from '../actions/analysis';
import { ResultStatus } from '../components/ResultStatus';
import { costText, getTiming, timingKey } from '../lib/cost';
import { Card, Message, PanelHead, Stats } from '../components/Card';
import { Chart, type Trace } from '../components/Chart';
import { Check, Field, NumberInput } from '../components/Field';
import { JobBar } from '../components/JobBar';
import { fmt, klShown, plural } from '../lib/format';
import { colorOf, labelOf, useStudy } from '../lib/study';
import { useLab } from '../store/store';
import { StudyVectors } from './StudyVectors';

export function PretrainPanel() {
  const pre = useLab((s) => s.pretrain);
  const fineweb = useLab((s) => s.sources.fineweb);
  const study = useStudy();
  const modelReady = useLab((s) => s.model.status === 'ready');
  const [n, setN] = useSticky('pretrain.docs', PAPER_SWEEPS.finewebDocs);
  const [points, setPoints] = useSticky('pretrain.points', PAPER_SWEEPS.finewebPoints);
  const [seeds, setSeeds] = useSticky('pretrain.seeds', PAPER_SWEEPS.finewebSeeds);
  const [maxTokens, setMaxTokens] = useSticky('pretrain.maxTokens', PAPER_SWEEPS.finewebMaxTokens);
  const [log, setLog] = useSticky('pretrain.log', false);
  const repo = useLab((s) => s.model.info?.repo ?? '');
  const busy = useLab((s) => s.jobs.pretrain);
  const sweptDocs = pre.meta?.basis.settings.docs;
  const docsStale = pre.meta && pre.docs && sweptDocs !== pre.docs.count ? [`it was measured on ${sweptDocs} FineWeb documents, and ${pre.docs.count} are fetched now`] : [];

  const traces = useMemo(() => {
    const out: Trace[] = [];
    for (const [k, pts] of Object.entries(pre.curves)) {
      const rnd = k.startsWith('random_');
      const color = colorOf(study, k);
      // KL ≥ 0: float noise below 0 is drawn at 0 (a log axis leaves 0 out and says so)
      out.push({ x: pts.map((p) => p.norm), y: pts.map((p) => klShown(p.kl)), name: labelOf(study, k), mode: 'lines+markers', line: { color, dash: rnd ? 'dot' : 'solid', width: rnd ? 1.2 : 2 }, marker: { color, size: rnd ? 4 : 6 } });
    }
    return out;
  }, [pre.curves, study, log]);

  return (
    <div className="panel" data-testid="panel-pretrain">
      <PanelHead title="Pre-training" lead={`Does the vector point somewhere the model already cares about? Steer plain web text (FineWeb, no chat template: ${plural(n, 'document')}, ≤ ${plural(maxTokens, 'token')} each) at ${plural(points, 'norm')} and measure how much the next-token distribution moves, against ${plural(seeds, 'random direction')}.`} />
      <p className="paper-line" data-testid="paper-line-pretrain">
        <strong>The paper:</strong> at every norm the general vector moves FineWeb predictions more than the narrow one, and both more than random directions. Here, a result like the paper’s is general above narrow above the dotted random lines.
      </p>
      <div className="grid-side">
        <div>
          <Card title="FineWeb documents">
            <Field label="Documents" hint="the first N longer than 100 characters, cut to 2000">
              <NumberInput value={n} integer min={1} max={1000} onChange={(v) => v !== null && setN(v)} testId="fineweb-n" />
            </Field>
            <p className="muted">
              Source: <code>{fineweb}</code>
            </p>
            <button className="btn" data-testid="fetch-fineweb" onClick={() => void fetchFineweb(n)}>
              Fetch documents
            </button>
            <JobBar jobKey="fineweb" />
            {pre.docs ? (
              <>
                <Stats items={[['Documents', <span data-testid="fineweb-count">{pre.docs.count}</span>], ['Mean length', `${fmt(pre.docs.meanChars, 0)} chars`], ['From', pre.docs.fromCache ? 'this browser' : 'the network']]} />
                <details>
                  <summary>Preview</summary>
                  {pre.docs.preview.map((d, i) => (
                    <blockquote key={i}>{d}</blockquote>
                  ))}
                </details>
              </>
            ) : null}
          </Card>
          <StudyVectors />
          <Card title="KL sweep">
            <div className="grid-2 tight">
              <Field label="Norm points">
                <NumberInput value={points} integer min={2} max={40} onChange={(v) => v !== null && setPoints(v)} testId="fineweb-points" />
              </Field>
              <Field label="Random seeds">
                <NumberInput value={seeds} integer min={0} max={20} onChange={(v) => v !== null && setSeeds(v)} testId="fineweb-seeds" />
              </Field>
              <Field label="Tokens per document">
                <NumberInput value={maxTokens} integer min={2} max={4096} onChange={(v) => v !== null && setMaxTokens(v)} testId="fineweb-maxtokens" />
              </Field>
            </div>
            {study.length ? <p className="muted small" data-testid="fineweb-cost">Cost: {costText((study.length + seeds) * points, getTiming(timingKey('finewebKl', repo, `${pre.docs?.count ?? 0}x${maxTokens}`)))}</p> : null}
            <button className="btn primary" data-testid="run-fineweb-kl" disabled={!modelReady || !pre.docs || !study.length || !!busy} onClick={() => void runFinewebKl({ points, randomSeeds: seeds, maxTokens })}>
              Run KL sweep
            </button>
            <JobBar jobKey="pretrain" />
            <ResultStatus meta={pre.meta} study={study} onResume={() => void resumeFinewebKl()} testId="pretrain-status" extraStale={docsStale} />
          </Card>
        </div>
        <Card title="KL on pre-training text (Fig 6)" aside={<Check label="log scale" checked={log} onChange={setLog} testId="pretrain-log" />}>
          {!modelReady ? <Message kind="info">Load a model and train a vector first.</Message> : null}
          <Chart title="FineWeb KL vs norm" traces={traces} xTitle="‖αv‖" yTitle="KL(p_chat ‖ p_steered) per token" height={380} yLog={log} emptyText="Fetch documents and run the sweep" />
          <p className="muted">Random directions (dotted) are Gaussian vectors rescaled to the same norms: the floor any direction reaches. KL is never below 0; float rounding below 0 is shown as 0.</p>
        </Card>
      </div>
    </div>
  );
}
