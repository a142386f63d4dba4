// The settings shared by the runs (SCIENCE.md defaults: α 256, lr 1e-4, AdamW, 5 warm-up steps, effective
// batch 16, 2 epochs, a checkpoint every 5 steps) and the narrow run's λ, with the paper's sweep translated to
// a per-token KL.

import { hookName, type HookPoint } from '../../models/hooks';
import { setTrainForm } from '../actions/train';
import { Card } from '../components/Card';
import { Field, NumberInput } from '../components/Field';
import { fmt, plural } from '../lib/format';
import { useLab } from '../store/store';
import { ADAPTER_PRESETS, type AdapterPresetId } from '../../lab/adapters/presets';

/** The paper's λ values, on a KL averaged over the vocabulary as well (SCIENCE.md). */
export const PAPER_LAMBDAS = [0, 5e3, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 1e7];

export function TrainSettingsCard() {
  const f = useLab((s) => s.trainForm);
  const info = useLab((s) => s.model.info);
  const trainRows = useLab((s) => s.data.train.summary?.train);
  const vocab = info?.vocabSize ?? 151936;
  const perEpoch = trainRows ? Math.ceil(Math.ceil(trainRows / f.microBatch) / f.accumulation) : undefined;
  const steps = f.budget === 'steps' ? f.steps : perEpoch !== undefined ? Math.ceil((Math.ceil(trainRows! / f.microBatch) * (f.epochs ?? 1)) / f.accumulation) : undefined;
  return (
    <Card title="Settings" testId="train-settings">
      <div className="grid-4">
        <Field label="Train" hint={f.adapterPreset ? `LoRA, α ${ADAPTER_PRESETS[f.adapterPreset].alpha}; PEFT init` : 'v at the layer, scaled by α'}>
          <select value={f.adapterPreset ?? ''} data-testid="train-kind" onChange={(e) => setTrainForm({ adapterPreset: (e.target.value || undefined) as AdapterPresetId | undefined })}>
            <option value="">steering vector</option>
            {(Object.keys(ADAPTER_PRESETS) as AdapterPresetId[]).map((id) => (
              <option key={id} value={id}>
                LoRA: {ADAPTER_PRESETS[id].label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Layer" hint={f.layer !== null && f.layer !== undefined ? `${hookName(f.layer, info?.hookPoints?.includes(f.hook ?? 'resid_post') ? f.hook : undefined)}${info ? ` · 0 … ${info.layers - 1}` : ''}` : info ? `0 … ${info.layers - 1}` : undefined}>
          <NumberInput value={f.layer} integer min={0} max={info ? info.layers - 1 : undefined} onChange={(v) => v !== null && setTrainForm({ layer: v })} testId="train-layer" />
        </Field>
        {info && info.hookPoints?.length > 1 ? (
          <Field label="Hook point" hint="Gemma normalises the MLP output before the residual add, so the paper's mlp.down_proj hook is a different point here">
            <select value={f.hook ?? 'resid_post'} onChange={(e) => setTrainForm({ hook: e.target.value as HookPoint })} data-testid="train-hook">
              {info.hookPoints.map((p) => (
                <option key={p} value={p}>
                  {hookName(f.layer ?? info.defaultLayer, p)}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        <Field label="α (scale of v)">
          <NumberInput value={f.alpha} min={0} onChange={(v) => v !== null && setTrainForm({ alpha: v })} />
        </Field>
        <Field label="Learning rate">
          <NumberInput value={f.lr} min={0} onChange={(v) => v !== null && setTrainForm({ lr: v })} testId="train-lr" />
        </Field>
        <Field label="Seed">
          <NumberInput value={f.seed} integer onChange={(v) => v !== null && setTrainForm({ seed: v })} />
        </Field>
        <Field label="Micro-batch">
          <NumberInput value={f.microBatch} integer min={1} onChange={(v) => v !== null && setTrainForm({ microBatch: v })} testId="train-microbatch" />
        </Field>
        <Field label="Accumulation" hint={`effective batch ${f.microBatch * f.accumulation}`}>
          <NumberInput value={f.accumulation} integer min={1} onChange={(v) => v !== null && setTrainForm({ accumulation: v })} testId="train-accumulation" />
        </Field>
        <Field label="Train for">
          <select value={f.budget} data-testid="train-budget" onChange={(e) => setTrainForm({ budget: e.target.value as 'epochs' | 'steps' })}>
            <option value="epochs">epochs</option>
            <option value="steps">steps</option>
          </select>
        </Field>
        {f.budget === 'epochs' ? (
          <Field label="Epochs" hint={steps !== undefined ? plural(steps, 'step') : undefined}>
            <NumberInput value={f.epochs ?? 2} min={0.01} onChange={(v) => v !== null && setTrainForm({ epochs: v })} />
          </Field>
        ) : (
          <Field label="Steps">
            <NumberInput value={f.steps ?? 20} integer min={1} onChange={(v) => v !== null && setTrainForm({ steps: v })} testId="train-steps" />
          </Field>
        )}
        <Field label="Warm-up steps">
          <NumberInput value={f.warmup} integer min={0} onChange={(v) => v !== null && setTrainForm({ warmup: v })} testId="train-warmup" />
        </Field>
        <Field label="Checkpoint every">
          <NumberInput value={f.checkpointEvery} integer min={1} onChange={(v) => v !== null && setTrainForm({ checkpointEvery: v })} testId="train-checkpoint" />
        </Field>
        <Field label="λ (narrow, per token)" hint={`paper scale ≈ ${fmt(f.narrowLambda * vocab, 0)}`}>
          <NumberInput value={f.narrowLambda} min={0} onChange={(v) => v !== null && setTrainForm({ narrowLambda: v })} testId="train-lambda" />
        </Field>
        <Field label="Paper's λ sweep">
          <select value="" onChange={(e) => e.target.value && setTrainForm({ narrowLambda: Number(e.target.value) / vocab })}>
            <option value="">choose…</option>
            {PAPER_LAMBDAS.filter((l) => l > 0).map((l) => (
              <option key={l} value={l}>
                {l.toExponential(0)} → {fmt(l / vocab, 3)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="KL batch">
          <NumberInput value={f.klBatch} integer min={1} onChange={(v) => v !== null && setTrainForm({ klBatch: v })} testId="train-klbatch" />
        </Field>
      </div>
    </Card>
  );
}
