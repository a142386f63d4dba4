// Suggested extensions: a guided walk through the paper's four figures (Fig 6, 4a, 5, 4b), each with the
// settings filled in and the question it answers, in the lab's own words.

import { setDataForm } from '../actions/data';
import { setTrainForm } from '../actions/train';
import { Card, PanelHead } from '../components/Card';
import { setSticky } from '../lib/sticky';
import { DEFAULT_DATA_FORM, DEFAULT_TRAIN_FORM, setPanel, useLab, type PanelId } from '../store/store';

interface Step {
  fig: string;
  title: string;
  question: string;
  expect: string;
  settings: string[];
  panel: PanelId;
  apply: () => void;
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
    apply: () => {
      setSticky('pretrain.docs', 50);
      setSticky('pretrain.points', 9);
      setSticky('pretrain.seeds', 3);
      setSticky('pretrain.maxTokens', 512);
    },
  },
  {
    fig: 'Fig 4a',
    title: 'Which solution is more efficient?',
    question: 'Rescale each vector from 0 to twice its trained norm and measure the training loss on 100 rows. Compare the two curves at equal norm, and the loss per squared norm.',
    expect: 'The general curve sits lower: per unit of norm it reduces the loss more. Under weight decay or a norm budget, training drifts towards it.',
    settings: ['scales 0, 0.25, …, 2 of each vector’s own norm', '100 training rows, seed 42'],
    panel: 'efficiency',
    needs: 'a general and a narrow vector (Train)',
    apply: () => setSticky('efficiency.rows', 100),
  },
  {
    fig: 'Fig 5',
    title: 'Where do the vectors travel?',
    question:
      'Train the general vector (λ = 0), the narrow one (λ ≈ 6.6 per token, the paper’s 1e6 on a vocabulary-averaged KL), then continue the narrow one with the KL term removed. PCA of all checkpoints shows the paths.',
    expect: 'Released from its KL penalty, the narrow vector heads towards the general solution; the first three components hold most of the variance (≈ 79 % in the paper).',
    settings: ['α 256, lr 1e-4, AdamW, 5 warm-up steps, batch 4 × 4 accumulation, 2 epochs', 'checkpoint every 5 steps', 'λ per token 6.6, KL batch 8 from four other-domain datasets'],
    panel: 'train',
    needs: 'a model and the bad-medical-advice data',
    apply: () => {
      setTrainForm({ ...DEFAULT_TRAIN_FORM, layer: useLab.getState().model.info?.defaultLayer ?? null });
      setDataForm({ trainPresets: DEFAULT_DATA_FORM.trainPresets, trainUrl: '', klPresets: DEFAULT_DATA_FORM.klPresets });
    },
  },
  {
    fig: 'Fig 4b',
    title: 'Which solution is more stable?',
    question: 'Replace a fraction ε of each vector by random orthogonal noise of the same norm and see how much of its loss reduction survives.',
    expect: 'The general vector loses its effect more slowly: it sits in a wide basin, the narrow one on a ridge that noise knocks it off.',
    settings: ['ε = 0.01, 0.05, 0.1, 0.2, …, 1.0', '10 noise seeds, mean ± sd', '100 training rows'],
    panel: 'stability',
    needs: 'a general and a narrow vector (Train)',
    apply: () => {
      setSticky('stability.rows', 100);
      setSticky('stability.seeds', 10);
    },
  },
  {
    fig: 'LoRA',
    title: 'Does the same hold for adapters?',
    question:
      'Train the general and narrow runs again as rank-1 LoRA adapters on down_proj of every layer (the paper’s adapter setup; θ = every A and B), then run the four figures on them: the panels take adapters beside vectors, with norms in ‖θ‖ and the efficiency points also at ‖ΔW‖.',
    expect: 'The same ordering as for vectors: the general adapter is more efficient and more stable, and the narrow one needs the KL term to stay narrow.',
    settings: ['LoRA rank 1, lora_alpha 256, down_proj of every layer, PEFT init (A kaiming-uniform, B = 0)', 'otherwise the vector settings'],
    panel: 'train',
    needs: 'a model and the bad-medical-advice data',
    apply: () => setTrainForm({ adapterPreset: 'r1-down-all' }),
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
    apply: () => setDataForm({ trainPresets: ['bad_medical_advice', 'non_med_aligned'], trainUrl: '' }),
  },
];

function QuickStart() {
  return (
    <Card title="Before you start: how long do you have?">
      <p>
        The paper's settings train on 6,344 conversations for two epochs; on a laptop GPU with the 0.5B model that is an afternoon. A quick
        look on a few hundred conversations takes minutes and already shows the curves' shapes.
      </p>
      <div className="row">
        <button
          className="btn"
          onClick={() => {
            setDataForm({ limit: 256, maxLen: 128, klLimit: 128 });
            setTrainForm({ budget: 'steps', steps: 40, microBatch: 4, accumulation: 2, checkpointEvery: 2, lr: 1e-3 });
            setPanel('data');
          }}
        >
          Quick look (minutes)
        </button>
        <button
          className="btn"
          onClick={() => {
            setDataForm({ limit: null, maxLen: 256, klLimit: 500 });
            setTrainForm({ ...DEFAULT_TRAIN_FORM, layer: useLab.getState().model.info?.defaultLayer ?? null });
            setPanel('data');
          }}
        >
          The paper's settings
        </button>
      </div>
      <p className="muted">The quick look raises the learning rate to 1e-3 so the vector gets somewhere in 40 steps; the paper uses 1e-4.</p>
    </Card>
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
          <li key={s.fig} className="step">
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
                  data-testid={`guide-${s.fig.replace(/\s/g, '')}`}
                  onClick={() => {
                    s.apply();
                    setPanel(s.panel);
                  }}
                >
                  Fill in and open {s.panel === 'pretrain' ? 'Pre-training' : s.panel[0]!.toUpperCase() + s.panel.slice(1)}
                </button>
                <span className="muted">Needs {s.needs}.</span>
              </div>
            </Card>
          </li>
        ))}
      </ol>
    </div>
  );
}
