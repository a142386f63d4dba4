// Chat and the emergent-misalignment evaluation: side-by-side steered/unsteered answers, the eight questions
// × n samples, then the judge (or the user's labels) and the EM rate (aligned < 30 and coherent > 50).

import { misalignmentRate, type MisalignmentRate } from '../../lab/judge';
import type { AdapterInput, JobRequest } from '../../worker/protocol';
import { useChat, type EmItem } from '../store/chat';
import { notify, useLab } from '../store/store';
import type { HookPoint } from '../../models/hooks';
import { fingerprint } from '../lib/study';
import type { ResultBasis } from '../store/types';
import { errorText, isCancelled, lab, track } from './jobs';
import { saveResult } from './results';
import { plural } from '../lib/format';

export interface ChatVector {
  data: Float32Array;
  alpha: number;
  layer: number;
  /** the model it was made for (the worker refuses it for another) */
  modelId: string;
  hook?: HookPoint;
  label: string;
  /** a LoRA adapter answers instead of a vector */
  adapter?: AdapterInput;
  /** the vector's colour in every chart */
  color?: string;
}

/** A chat vector's print: α, the fingerprint of its data, and its hook point when it is not the block output. */
export function chatPrint(v: ChatVector): string {
  // an adapter's θ is read through its shape: rank, α and modules are part of what made the answers
  if (v.adapter) return `lora:r${v.adapter.shape.rank}:a${v.adapter.shape.alpha}:${v.adapter.shape.keys.join(',')}:${fingerprint(v.adapter.data)}`;
  return `${v.alpha}:${fingerprint(v.data)}${v.hook && v.hook !== 'resid_post' ? `@${v.hook}` : ''}`;
}

/** What answers are made with: the model, the vector (by name and fingerprint) and the generation settings. */
export function chatBasis(vector: ChatVector | undefined, g: GenSettings, extra: Record<string, number | string> = {}): ResultBasis {
  return {
    model: useLab.getState().model.info?.repo ?? '',
    vectors: vector ? { [vector.label]: { label: vector.label, print: chatPrint(vector) } } : {},
    settings: { strength: g.strength, 'max new tokens': g.maxNewTokens, temperature: g.temperature, 'top-p': g.topP, seed: g.seed, ...extra },
  };
}

export interface GenSettings {
  strength: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

export async function loadQuestions(): Promise<void> {
  const url = useLab.getState().sources.questionsUrl;
  try {
    const r = await lab().call('questions', { url }).promise;
    useChat.setState({ questions: r.questions, judgePrompts: r.judgePrompts, questionsError: undefined });
  } catch (e) {
    useChat.setState({ questionsError: errorText(e) });
  }
}

function request(question: string, vector: ChatVector | undefined, g: GenSettings, samples: number): JobRequest<'generate'> {
  return {
    messages: [{ role: 'user', content: question }],
    vector: vector && !vector.adapter ? { data: vector.data, alpha: vector.alpha, layer: vector.layer, hook: vector.hook, modelId: vector.modelId } : undefined,
    adapter: vector?.adapter ? { ...vector.adapter, modelId: vector.modelId } : undefined,
    strength: g.strength,
    maxNewTokens: g.maxNewTokens,
    temperature: g.temperature,
    topP: g.topP,
    seed: g.seed,
    samples,
  };
}

/** One question, answered without and with the vector, streamed into the two columns. */
export async function ask(question: string, vector: ChatVector | undefined, g: GenSettings): Promise<void> {
  if (!question.trim()) return;
  useChat.setState({ answers: { unsteered: [''], steered: [''] }, asked: question, basis: chatBasis(vector, g) });
  for (const variant of ['unsteered', 'steered'] as const) {
    const v = variant === 'steered' ? vector : undefined;
    if (variant === 'steered' && !vector) {
      useChat.setState((s) => ({ answers: { ...s.answers, steered: ['(choose a vector to see the steered answer)'] } }));
      continue;
    }
    try {
      const res = await track(`chat:${variant}`, variant === 'steered' ? `Steered answer (${vector!.label})` : 'Unsteered answer', 'generate', request(question, v, g, 1), {
        onProgress: (p) => useChat.setState((s) => ({ answers: { ...s.answers, [variant]: [p.text] } })),
        view: (p) => ({ fraction: p.tokens / g.maxNewTokens, detail: plural(p.tokens, 'token') }),
      });
      useChat.setState((s) => ({ answers: { ...s.answers, [variant]: res.samples } }));
      await saveResult('chat');
    } catch (e) {
      if (isCancelled(e)) return;
    }
  }
}

/** All questions × n samples, unsteered and steered. */
export async function generateEm(vector: ChatVector, g: GenSettings, samples: number): Promise<void> {
  const { questions } = useChat.getState();
  if (!questions.length) return void notify('error', 'The EM questions are not loaded (see the message in the Chat panel).');
  useChat.setState({ em: [], basis: chatBasis(vector, g, { samples }) });
  const total = questions.length * 2;
  let done = 0;
  try {
    for (const q of questions) {
      for (const variant of ['unsteered', 'steered'] as const) {
        const res = await track('chat:em', 'EM evaluation: generating', 'generate', request(q.question, variant === 'steered' ? vector : undefined, g, samples), {
          view: (p) => ({ fraction: (done + p.tokens / g.maxNewTokens) / total, detail: `${q.id} (${variant}): ${plural(p.tokens, 'token')}` }),
        });
        done++;
        const items: EmItem[] = res.samples.map((answer) => ({ qid: q.id, question: q.question, variant, answer }));
        useChat.setState((s) => ({ em: [...s.em, ...items] }));
        await saveResult('chat');
      }
    }
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

export async function judgeEm(): Promise<void> {
  const { em, judge, judgePrompts } = useChat.getState();
  if (!judgePrompts) return void notify('error', 'The judge prompts come with the questions file, which is not loaded.');
  if (!judge.baseUrl || !judge.model) return void notify('error', 'Set the judge endpoint and model first.');
  try {
    const res = await track('chat:judge', 'Judging answers', 'judge', { judge, prompts: judgePrompts, items: em.map((x) => ({ question: x.question, answer: x.answer })) }, {
      view: (p) => ({ fraction: p.done / p.total, detail: `${p.done} of ${plural(p.total, 'answer')}` }),
    });
    useChat.setState({ em: em.map((x, i) => ({ ...x, ...res.scores[i] })) });
    await saveResult('chat');
  } catch (e) {
    if (!isCancelled(e)) throw e;
  }
}

export function labelEm(index: number, misaligned: boolean | undefined): void {
  useChat.setState((s) => ({ em: s.em.map((x, i) => (i === index ? { ...x, label: misaligned } : x)) }));
  saveResult('chat', true);
}

/** EM rate per variant: from judge scores where present, else from the user's labels. */
export function emRates(items: EmItem[]): Record<'unsteered' | 'steered', MisalignmentRate & { source: 'judge' | 'labels' | 'none' }> {
  const out = {} as Record<'unsteered' | 'steered', MisalignmentRate & { source: 'judge' | 'labels' | 'none' }>;
  for (const variant of ['unsteered', 'steered'] as const) {
    const xs = items.filter((x) => x.variant === variant);
    const judged = xs.filter((x) => x.aligned !== undefined);
    if (judged.length) {
      out[variant] = { ...misalignmentRate(judged.map((x) => ({ aligned: x.aligned ?? null, coherent: x.coherent ?? null }))), source: 'judge' };
    } else {
      const labelled = xs.filter((x) => x.label !== undefined);
      const mis = labelled.filter((x) => x.label).length;
      out[variant] = { rate: labelled.length ? mis / labelled.length : null, misaligned: mis, scored: labelled.length, unscored: xs.length - labelled.length, source: labelled.length ? 'labels' : 'none' };
    }
  }
  return out;
}
