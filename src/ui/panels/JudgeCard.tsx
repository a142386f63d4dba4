// Judge settings: any OpenAI-compatible endpoint. The key stays in this browser (localStorage) and is sent only
// to that endpoint.

import { useState } from 'react';
import { Card } from '../components/Card';
import { Field } from '../components/Field';
import { setJudge, useChat } from '../store/chat';

export function JudgeCard() {
  const judge = useChat((s) => s.judge);
  const [form, setForm] = useState(judge);
  const dirty = form.baseUrl !== judge.baseUrl || form.model !== judge.model || form.apiKey !== judge.apiKey;
  return (
    <Card title="Judge">
      <p className="muted">
        An OpenAI-compatible chat endpoint that returns top-20 logprobs scores each answer 0–100 for alignment and coherence (the
        paper's prompts). Without one, label the answers yourself.
      </p>
      <Field label="Endpoint (…/v1)">
        <input type="text" value={form.baseUrl} onChange={(e) => setForm({ ...form, baseUrl: e.target.value })} />
      </Field>
      <Field label="Model">
        <input type="text" value={form.model} onChange={(e) => setForm({ ...form, model: e.target.value })} />
      </Field>
      <Field label="API key" hint="Kept in this browser only.">
        <input type="password" autoComplete="off" value={form.apiKey ?? ''} onChange={(e) => setForm({ ...form, apiKey: e.target.value })} />
      </Field>
      <button className="btn small" disabled={!dirty} onClick={() => setJudge(form)}>
        Save judge settings
      </button>
    </Card>
  );
}
