// Data: the paper's dataset presets, a URL or an uploaded file; a preview, counts, and every skipped row with
// its line number; the KL data the narrow vector is regularised on.

import { DATASET_PRESETS, type DatasetPresetId } from '../../lab/data/presets';
import type { DataSummary } from '../../worker/protocol';
import { klSources, loadData, setDataForm, trainSources } from '../actions/data';
import { Card, Message, PanelHead, Stats } from '../components/Card';
import { Chart } from '../components/Chart';
import { Check, Field, NumberInput } from '../components/Field';
import { JobBar } from '../components/JobBar';
import { fmt, noun, plural } from '../lib/format';
import { useLab } from '../store/store';

const PRESETS = Object.values(DATASET_PRESETS);

function Summary({ s }: { s: DataSummary }) {
  const bins = s.lengths.counts.map((_, i) => i * s.lengths.binWidth);
  return (
    <div className="summary" data-testid={`data-summary-${s.slot}`}>
      <Stats
        items={[
          [s.slot === 'kl' ? 'KL rows' : 'Training rows', <span data-testid={`data-train-count-${s.slot}`}>{s.train.toLocaleString()}</span>],
          ['Held out', `${s.heldOut.toLocaleString()} (${s.train + s.heldOut ? Math.round((100 * s.heldOut) / (s.train + s.heldOut)) : 0} %)`],
          ['Mean tokens', fmt(s.meanTokens, 1)],
          ['Longest', s.maxTokens],
        ]}
      />
      {s.sources.map((src) => (
        <div key={src.name} className="source-report">
          <strong>{src.name}</strong>: {plural(src.goodRows, 'good row')}
          {src.truncated ? `, ${src.truncated} cut to the maximum length` : ''}
          {src.prefixFallbacks ? `, ${src.prefixFallbacks} with a template prefix fallback` : ''}
          {src.badCount ? (
            <details className="bad-rows" open={src.badCount < 6}>
              <summary>
                {plural(src.badCount, 'bad row')} skipped
              </summary>
              <ul>
                {src.bad.map((b) => (
                  <li key={b.line}>
                    line {b.line}: {b.reason}
                  </li>
                ))}
                {src.badCount > src.bad.length ? <li>… and {src.badCount - src.bad.length} more</li> : null}
              </ul>
            </details>
          ) : (
            <span className="muted"> · no bad rows</span>
          )}
          {src.skippedNoLabels.length ? (
            <div className="muted">
              Dropped because truncation left no answer tokens: {noun(src.skippedNoLabels.length, 'line')} {src.skippedNoLabels.slice(0, 20).join(', ')}
              {src.skippedNoLabels.length > 20 ? ', …' : ''}
            </div>
          ) : null}
        </div>
      ))}
      {s.slot === 'train' ? (
        <Chart title="Tokens per training row" traces={[{ x: bins, y: s.lengths.counts, type: 'bar', marker: { color: '#5c7cfa' }, name: 'rows' }]} xTitle="tokens" yTitle="rows" height={200} />
      ) : null}
      {s.preview.length ? (
        <table className="table preview">
          <thead>
            <tr>
              <th>line</th>
              <th>user</th>
              <th>assistant</th>
            </tr>
          </thead>
          <tbody>
            {s.preview.map((r) => (
              <tr key={r.line}>
                <td>{r.line}</td>
                <td>{r.user.length > 220 ? `${r.user.slice(0, 220)}…` : r.user}</td>
                <td>{r.assistant.length > 220 ? `${r.assistant.slice(0, 220)}…` : r.assistant}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

export function DataPanel() {
  const f = useLab((s) => s.dataForm);
  const data = useLab((s) => s.data);
  const modelReady = useLab((s) => s.model.status === 'ready');
  const toggle = (list: DatasetPresetId[], id: DatasetPresetId, on: boolean) => (on ? [...new Set([...list, id])] : list.filter((x) => x !== id));

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    await loadData('train', [{ kind: 'file', name: file.name, bytes }]);
  };

  return (
    <div className="panel" data-testid="panel-data">
      <PanelHead title="Data" lead="Chat conversations to train on, and the other-domain conversations the narrow vector must leave alone (the KL data)." />
      {!modelReady ? <Message kind="info">Load a model first: the data is tokenised with its chat template.</Message> : null}
      <div className="grid-2">
        <Card title="Training data">
          <div className="preset-list">
            {PRESETS.filter((p) => p.use.includes('train')).map((p) => (
              <Check
                key={p.id}
                testId={`preset-${p.id}`}
                checked={!f.trainUrl && f.trainPresets.includes(p.id)}
                onChange={(on) => setDataForm({ trainPresets: toggle(f.trainPresets, p.id, on), trainUrl: '' })}
                label={
                  <>
                    {p.label} <span className="muted">{plural(p.rows, 'row')}</span>
                  </>
                }
              />
            ))}
          </div>
          {f.trainUrl.trim() && f.trainPresets.length ? (
            <p className="muted small" data-testid="url-replaces-presets">
              Using the URL below instead of the ticked {noun(f.trainPresets.length, 'preset')}; clear it to use {f.trainPresets.length === 1 ? 'the preset' : 'them'} again.
            </p>
          ) : null}
          <Field label="…or a URL of a chat .jsonl / .jsonl.gz" hint='One {"messages": [{"role": …, "content": …}, …]} object per line.'>
            <input type="text" value={f.trainUrl} placeholder="https://…/my_data.jsonl.gz" onChange={(e) => setDataForm({ trainUrl: e.target.value })} />
          </Field>
          <Field label="…or a file from this computer">
            <input type="file" accept=".jsonl,.gz,.json" data-testid="data-file" disabled={!modelReady} onChange={(e) => void onFile(e.target.files?.[0])} />
          </Field>
          <div className="grid-4">
            <Field label="Rows (empty = all)">
              <NumberInput value={f.limit} allowEmpty integer min={1} onChange={(v) => setDataForm({ limit: v })} testId="data-limit" placeholder="all" />
            </Field>
            <Field label="Max tokens">
              <NumberInput value={f.maxLen} integer min={8} max={4096} onChange={(v) => v !== null && setDataForm({ maxLen: v })} testId="data-maxlen" />
            </Field>
            <Field label="Loss on" hint={f.labels === 'assistant' ? 'the assistant’s tokens' : 'every token'}>
              <select value={f.labels} onChange={(e) => setDataForm({ labels: e.target.value as 'assistant' | 'all' })}>
                {/* short labels: the select is a quarter of the card wide */}
                <option value="assistant">answers</option>
                <option value="all">all tokens</option>
              </select>
            </Field>
            <Field label="Held out (%)">
              <NumberInput value={Math.round(f.heldOutFraction * 1000) / 10} min={0} max={90} onChange={(v) => v !== null && setDataForm({ heldOutFraction: v / 100 })} testId="data-heldout" />
            </Field>
          </div>
          <button className="btn primary" data-testid="load-train-data" disabled={!modelReady || data.train.status === 'loading'} onClick={() => void loadData('train', trainSources(f))}>
            Load training data
          </button>
          <JobBar jobKey="data:train" />
          {data.train.status === 'error' ? <Message kind="error" testId="data-error">{data.train.error}</Message> : null}
          {data.train.summary && data.train.status === 'ready' ? <Summary s={data.train.summary} /> : null}
        </Card>
        <Card title="KL data (narrow runs)">
          <p className="muted">
            The narrow vector pays λ·KL(p<sub>chat</sub> ‖ p<sub>steered</sub>) on these conversations, so it learns to change medical
            answers while leaving other domains as the chat model had them. The paper's KL set is not public; these four mix good and bad
            advice from other domains.
          </p>
          <div className="preset-list">
            {PRESETS.filter((p) => p.use.includes('kl')).map((p) => (
              <Check key={p.id} checked={f.klPresets.includes(p.id)} onChange={(on) => setDataForm({ klPresets: toggle(f.klPresets, p.id, on) })} label={<>{p.label} <span className="muted">{plural(p.rows, 'row')}</span></>} />
            ))}
          </div>
          <Field label="KL rows per dataset (empty = all)">
            <NumberInput value={f.klLimit} allowEmpty integer min={1} onChange={(v) => setDataForm({ klLimit: v })} testId="kl-limit" placeholder="all" />
          </Field>
          <button className="btn" data-testid="load-kl-data" disabled={!modelReady || !f.klPresets.length || data.kl.status === 'loading'} onClick={() => void loadData('kl', klSources(f))}>
            Load KL data
          </button>
          <JobBar jobKey="data:kl" />
          {data.kl.status === 'error' ? <Message kind="error">{data.kl.error}</Message> : null}
          {data.kl.summary && data.kl.status === 'ready' ? <Summary s={data.kl.summary} /> : null}
        </Card>
      </div>
    </div>
  );
}
