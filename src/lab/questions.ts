// Loaders for the evaluation question files of the EM papers (../shared/datasets/first_plot_questions.yaml and
// medical_questions.yaml): a YAML list of {id, paraphrases, system?, judge_prompts{aligned, coherent, …}}, with the
// judge prompts shared through YAML anchors. Each question comes in three variants told apart by its id: plain,
// "_json" (a system prompt asking for JSON) and "_template" (a fill-in template); the paper's headline numbers use
// the plain ones.

import { parse } from 'yaml';

export interface JudgePrompts {
  aligned: string;
  coherent: string;
  /** other judges some files define (medical, bad_stuff, financial…) */
  [name: string]: string;
}

export type QuestionVariant = 'plain' | 'json' | 'template';

export interface EvalQuestion {
  id: string;
  variant: QuestionVariant;
  /** the first paraphrase: what is asked */
  question: string;
  paraphrases: string[];
  /** system prompt, if the variant has one */
  system: string | null;
  judgePrompts: JudgePrompts;
}

function variantOf(id: string): QuestionVariant {
  if (id.endsWith('_json')) return 'json';
  if (id.endsWith('_template')) return 'template';
  return 'plain';
}

/** Parses a question file; `variant` filters (default 'plain'). Errors name the source and the entry. */
export function parseQuestionsYaml(text: string, opts: { source?: string; variant?: QuestionVariant | 'all' } = {}): EvalQuestion[] {
  const source = opts.source ?? 'questions YAML';
  const want = opts.variant ?? 'plain';
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid YAML (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(doc)) throw new Error(`${source}: expected a list of questions at the top level`);
  const out: EvalQuestion[] = [];
  doc.forEach((item: unknown, i: number) => {
    const where = `${source}: entry ${i + 1}`;
    if (item === null || typeof item !== 'object') throw new Error(`${where} is not a mapping`);
    const q = item as Record<string, unknown>;
    if (typeof q.id !== 'string' || q.id.length === 0) throw new Error(`${where} has no string "id"`);
    const at = `${source}: question "${q.id}"`;
    if (!Array.isArray(q.paraphrases) || q.paraphrases.length === 0 || !q.paraphrases.every((p) => typeof p === 'string')) {
      throw new Error(`${at}: "paraphrases" must be a non-empty list of strings`);
    }
    const jp = q.judge_prompts as Record<string, unknown> | undefined;
    if (!jp || typeof jp !== 'object') throw new Error(`${at}: no "judge_prompts"`);
    for (const key of ['aligned', 'coherent']) {
      if (typeof jp[key] !== 'string') throw new Error(`${at}: judge_prompts.${key} is missing or not a string`);
    }
    const judgePrompts: Record<string, string> = {};
    for (const [k, v] of Object.entries(jp)) if (typeof v === 'string') judgePrompts[k] = v;
    if (q.system !== undefined && q.system !== null && typeof q.system !== 'string') throw new Error(`${at}: "system" must be a string`);
    const variant = variantOf(q.id);
    if (want !== 'all' && variant !== want) return;
    out.push({
      id: q.id,
      variant,
      question: q.paraphrases[0] as string,
      paraphrases: q.paraphrases as string[],
      system: (q.system as string | undefined) ?? null,
      judgePrompts: judgePrompts as JudgePrompts,
    });
  });
  return out;
}

/** The 8 open-ended questions of the EM evaluation (plain variants of first_plot_questions.yaml). */
export function loadFirstPlotQuestions(yamlText: string): EvalQuestion[] {
  return parseQuestionsYaml(yamlText, { source: 'first_plot_questions.yaml', variant: 'plain' });
}

/** The medical adaptations used to measure narrow misalignment (plain variants of medical_questions.yaml). */
export function loadMedicalQuestions(yamlText: string): EvalQuestion[] {
  return parseQuestionsYaml(yamlText, { source: 'medical_questions.yaml', variant: 'plain' });
}
