// Suggested extensions: a guided walk through the paper's four figures (Fig 6, 4a, 5, 4b), each with the
// settings filled in and the question it answers, in the lab's own words.

import { loadFormData } from '../actions/data';
import { Card, Message, PanelHead } from '../components/Card';
import { applyPrefill, type Prefill } from '../lib/prefill';
import { paperPrefill, presetStudySeconds, workshopPrefill } from '../lib/presets';
import { formatDuration } from '../lib/format';
import { WORKSHOP } from '../../lab/train/defaults';
import { useSticky } from '../lib/sticky';
import { DEFAULT_DATA_FORM, DEFAULT_TRAIN_FORM, notify, setPanel, useLab, type PanelId } from '../store/store';

interface Step {
  fig: string;
  title: string;
  question: string;
  expect: string;
  settings: string[];
  panel: PanelId;
  /** only the settings this experiment needs: a step never resets what another step or the quick look chose */
  prefill: () => Prefill;
  /** reads the data the step trains on, when it is not what is loaded */
  loadsData?: boolean;
  needs: string;
}

const STEPS: Step[] = [
  {
    fig: 'Fig 6',
    title: 'Is the general direction special to the model?',
    question:
      'Steer plain web text (FineWeb, no chat template) with the general vector, the narrow vector and random directions, all rescaled to the same norms, and measure how far each pushes the next-token distribution away from the chat model.',
    expect: 'General > narrow > random at every norm: the general vector points along a direction the pre-trained model already uses, which is why it is easy to find.',
    settings: ['50 documents longer than 100 characters, cut to 2000 characters, ≤ 512 tokens', '9 norms from 0 to 1.5 × the largest trained norm', '3 random seeds'],
    panel: 'pretrain',
    needs: 'a general and a narrow vector (Train)',
    prefill: () => ({
      sticky: {
        'pretrain.docs': { label: 'FineWeb documents', value: 50 },
        'pretrain.points': { label: 'norm points', value: 9 },
        'pretrain.seeds': { label: 'random seeds', value: 3 },
        'pretrain.maxTokens': { label: 'tokens per document', value: 512 },
      },
    }),
  },
  {
    fig: 'Fig 4a',
    title: 'Which solution is more efficient?',
    question: 'Rescale each vector from 0 to twice its trained norm and measure the training loss on 100 rows. Compare the two curves at equal norm, and the loss per squared norm.',
    expect: 'The general curve sits lower: per unit of norm it reduces the loss more. Under weight decay or a norm budget, training drifts towards it.',
    settings: ['scales 0, 0.25, …, 2 of each vector’s own norm', '100 training rows, seed 42'],
    panel: 'efficiency',
    needs: 'a general and a narrow vector (Train)',
    prefill: () => ({ sticky: { 'efficiency.rows': { label: 'rows evaluated', value: 100 } } }),
  },
  {
    fig: 'Fig 5',
    title: 'Where do the vectors travel?',
    question:
      'Train the general vector (λ = 0), the narrow one (λ ≈ 6.6 per token, the paper’s 1e6 on a vocabulary-averaged KL), then continue the narrow one with the KL term removed. PCA of all checkpoints shows the paths.',
    expect: 'Released from its KL penalty, the narrow vector heads towards the general solution; the first three components hold most of the variance (≈ 79 % in the paper).',
    settings: ['the bad-medical-advice data and the four other-domain KL datasets', 'λ per token 6.6 for the narrow run', 'the training budget you chose above (quick look or the paper’s) is kept'],
    panel: 'train',
    needs: 'a model (the data is read for you)',
    loadsData: true,
    prefill: () => ({
      data: { trainPresets: DEFAULT_DATA_FORM.trainPresets, trainUrl: '', klPresets: DEFAULT_DATA_FORM.klPresets },
      train: { narrowLambda: DEFAULT_TRAIN_FORM.narrowLambda, adapterPreset: undefined }, // vectors: the LoRA step switches to adapters
    }),
  },
  {
    fig: 'Fig 4b',
    title: 'Which solution is more stable?',
    question: 'Replace a fraction ε of each vector by random orthogonal noise of the same norm and see how much of its loss reduction survives.',
    expect: 'The general vector loses its effect more slowly: it sits in a wide basin, the narrow one on a ridge that noise knocks it off.',
    settings: ['ε = 0.01, 0.05, 0.1, 0.2, …, 1.0', '10 noise seeds, mean ± sd', '100 training rows'],
    panel: 'stability',
    needs: 'a general and a narrow vector (Train)',
    prefill: () => ({
      sticky: {
        'stability.rows': { label: 'rows', value: 100 },
        'stability.seeds': { label: 'noise seeds', value: 10 },
      },
    }),
  },
  {
    fig: 'LoRA',
    title: 'Does the same hold for adapters?',
    question:
      'Train the general and narrow runs again as rank-1 LoRA adapters on down_proj of every layer (the paper’s adapter setup; θ = every A and B), then run the four figures on them: the panels take adapters beside vectors, with norms in ‖θ‖ and the efficiency points also at ‖ΔW‖.',
    expect: 'The same ordering as for vectors: the general adapter is more efficient and more stable, and the narrow one needs the KL term to stay narrow.',
    settings: ['LoRA rank 1, lora_alpha 256, down_proj of every layer, PEFT init (A kaiming-uniform, B = 0)', 'otherwise the vector settings'],
    panel: 'train',
    needs: 'a model (the data is read for you)',
    loadsData: true,
    prefill: () => ({
      data: { trainPresets: DEFAULT_DATA_FORM.trainPresets, trainUrl: '', klPresets: DEFAULT_DATA_FORM.klPresets },
      train: { adapterPreset: 'r1-down-all' },
    }),
  },
  {
    fig: 'Mixed data',
    title: 'Does mixing in aligned data isolate the narrow solution?',
    question:
      'Train the general run (λ = 0) on bad medical advice mixed with aligned conversations from other domains (non_med_aligned) instead of adding the KL term. Compare its KL on the other domains with the KL-regularised narrow run.',
    expect: 'It does not: the mixed run’s KL on other domains stays near the general run’s (both misalignments fall together); only the KL term keeps the solution narrow. Plans set the mixing ratio exactly with runs[].mix.',
    settings: ['training data: bad_medical_advice + non_med_aligned', 'λ = 0'],
    panel: 'data',
    needs: 'a model',
    prefill: () => ({ data: { trainPresets: ['bad_medical_advice', 'non_med_aligned'], trainUrl: '' } }),
  },
];

function Changes({ id, changes }: { id: string; changes: string[] | null }) {
  if (!changes) return null;
  return (
    <Message kind="info" testId={`guide-changes-${id}`}>
      {changes.length ? (
        <>
          Changed: <ul className="settings-list">{changes.map((c) => <li key={c}>{c}</li>)}</ul>
        </>
      ) : (
        'Nothing to change: the settings already matched.'
      )}
    </Message>
  );
}

function QuickStart() {
  const [quickChanges, setQuick] = useSticky<string[] | null>('guide.changed.quick', null);
  const workshop = presetStudySeconds('workshop').total;
  const paper = presetStudySeconds('paper').total;
  const run = (p: Prefill) => {
    const changed = applyPrefill(p);
    setQuick(changed);
    notify('info', changed.length ? `Quick start: changed ${changed.join('; ')}.` : 'Quick start: the settings already matched.', { where: 'Guide' });
  };
  return (
    <Card title="Before you start: how long do you have?">
      <p>
        The paper's settings train on 6,344 conversations for two epochs; on a laptop GPU with the 0.5B model the whole study takes most of a day
        ({formatDuration(paper)} by the measured speed, Train panel). The Workshop preset trains both vectors on {WORKSHOP.rows} conversations and runs every sweep in about{' '}
        {formatDuration(workshop)}; a quick look takes minutes too and already shows the curves' shapes.
      </p>
      <div className="row">
        <button className="btn" data-testid="guide-workshop" onClick={() => run(workshopPrefill())}>
          Workshop (≈ {formatDuration(workshop)})
        </button>
        <button className="btn" data-testid="guide-quick" onClick={() => run({ data: { limit: 256, maxLen: 128, klLimit: 128 }, train: { budget: 'steps', steps: 40, microBatch: 4, accumulation: 2, checkpointEvery: 2, lr: 1e-3 } })}>
          Quick look (minutes)
        </button>
        <button className="btn" data-testid="guide-paper" onClick={() => run(paperPrefill())}>
          The paper's settings
        </button>
      </div>
      <p className="muted">The quick look raises the learning rate to 1e-3 so the vector gets somewhere in 40 steps; the paper and the Workshop preset use 1e-4. The figure steps below keep whichever you chose.</p>
      <Changes id="quick" changes={quickChanges} />
    </Card>
  );
}

function StepCard({ s, i }: { s: Step; i: number }) {
  const id = s.fig.replace(/\s/g, '');
  const [changes, setChanged] = useSticky<string[] | null>(`guide.changed.${id}`, null);
  return (
    <li className="step">
      <div className="step-num">{i + 1}</div>
      <Card title={`${s.fig} · ${s.title}`}>
        <p>{s.question}</p>
        <p>
          <strong>What to expect.</strong> {s.expect}
        </p>
        <ul className="settings-list">
          {s.settings.map((x) => (
            <li key={x}>{x}</li>
          ))}
        </ul>
        <div className="row">
          <button
            className="btn primary"
            data-testid={`guide-${id}`}
            onClick={async () => {
              const changed = applyPrefill(s.prefill());
              setChanged(changed);
              setPanel(s.panel);
              const loaded = s.loadsData ? await loadFormData() : '';
              notify('info', `${s.fig}: ${changed.length ? `changed ${changed.join('; ')}` : 'the settings already matched'}.${loaded ? ` ${loaded}` : ''}`, { where: 'Guide' });
            }}
          >
            Fill in and open {s.panel === 'pretrain' ? 'Pre-training' : s.panel[0]!.toUpperCase() + s.panel.slice(1)}
          </button>
          <span className="muted">Needs {s.needs}.</span>
        </div>
        <Changes id={id} changes={changes} />
      </Card>
    </li>
  );
}

export function GuidePanel() {
  return (
    <div className="panel" data-testid="panel-guide">
      <PanelHead
        title="Suggested extensions"
        lead="The paper's claim: fine-tuning on bad medical advice has an easy, general solution (misalign everything) and a hard, narrow one (misalign only medicine). These four experiments show why gradient descent prefers the general one."
      />
      <QuickStart />
      <ol className="steps">
        {STEPS.map((s, i) => (
          <StepCard key={s.fig} s={s} i={i} />
        ))}
      </ol>
    </div>
  );
}
