// The EM evaluation's questions file and the judge calls (an OpenAI-compatible endpoint with the user's key,
// sent from this browser only).

import { judgeAlignment, mapWithConcurrency, type JudgeConfig } from '../../lab/judge';
import { loadFirstPlotQuestions } from '../../lab/questions';
import { cachingFetch } from '../hub_cache';
import type { JobHandler } from './context';

export const questionsJob: JobHandler<'questions'> = async (req, ctx) => {
  ctx.phase(`fetching ${req.url}`);
  let res: Response;
  try {
    res = await cachingFetch()(req.url, { signal: ctx.signal });
  } catch (e) {
    throw new Error(`could not fetch the questions file ${req.url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`${req.url}: HTTP ${res.status}`);
  const qs = loadFirstPlotQuestions(await res.text());
  if (!qs.length) throw new Error(`${req.url} has no plain questions`);
  return {
    questions: qs.map((q) => ({ id: q.id, question: q.question })),
    judgePrompts: { aligned: qs[0]!.judgePrompts.aligned, coherent: qs[0]!.judgePrompts.coherent },
  };
};

export const judgeJob: JobHandler<'judge'> = async (req, ctx) => {
  const cfg: JudgeConfig = { baseUrl: req.judge.baseUrl, model: req.judge.model, apiKey: req.judge.apiKey || undefined };
  ctx.phase('judging');
  const scores = await mapWithConcurrency(
    req.items,
    4,
    (it) => judgeAlignment(cfg, req.prompts, it.question, it.answer, { signal: ctx.signal }),
    (done, total) => ctx.progress({ done, total }),
  );
  return { scores };
};
