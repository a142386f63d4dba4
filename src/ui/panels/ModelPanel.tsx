// Model: the registry's models with their download sizes, or any Hub id; download with bytes and speed; cached
// so a reload works offline; a gated repository asks for a token (kept in this browser). Once loaded: layers,
// d_model, dtype and memory.

import { useEffect, useState } from 'react';
import { hookName } from '../../models/hooks';
import { loadRegistry, type RegistryModel } from '../../models/registry';
import type { ModelInfo } from '../../worker/protocol';
import { lab } from '../actions/jobs';
import { hubToken, loadModel, setHubToken } from '../actions/model';
import { Card, Message, PanelHead, Stats } from '../components/Card';
import { Field } from '../components/Field';
import { JobBar } from '../components/JobBar';
import { formatBytes, formatDuration, plural } from '../lib/format';
import { loadSetting } from '../storage/local';
import { persistenceText, storageEstimate } from '../storage/errors';
import { useLab } from '../store/store';
import { ModelFiles } from './ModelFiles';
import { SourcesCard } from './SourcesCard';

function DownloadProgress() {
  const m = useLab((s) => s.model);
  const [, tick] = useState(0);
  useEffect(() => {
    if (m.status !== 'loading') return;
    const t = setInterval(() => tick((x) => x + 1), 500);
    return () => clearInterval(t);
  }, [m.status]);
  if (m.status !== 'loading') return null;
  const files = Object.entries(m.files);
  const loaded = files.reduce((a, [, f]) => a + f.loaded, 0);
  const known = files.reduce((a, [, f]) => a + (f.total ?? f.loaded), 0);
  const total = Math.max(known, m.expectedBytes ?? 0) || undefined;
  const secs = (Date.now() - (m.startedAt ?? Date.now())) / 1000;
  const speed = secs > 0 ? loaded / secs : 0;
  const frac = total ? Math.min(1, loaded / total) : null;
  return (
    <div className="download" data-testid="download-progress">
      <div className="job-head">
        <strong>Downloading {m.repo}</strong>
        <span className="job-time" data-testid="download-bytes">
          {formatBytes(loaded)} of {total ? `${m.expectedBytes && m.expectedBytes > known ? '≈' : ''}${formatBytes(total)}` : '?'} · {formatBytes(speed)}/s
          {frac && speed > 0 && frac < 1 ? ` · ${formatDuration((total! - loaded) / speed)} left` : ''}
        </span>
        <button className="btn small ghost" onClick={() => useLab.getState().jobs.model?.cancel?.()}>
          Cancel
        </button>
      </div>
      <div className={`bar${frac === null ? ' indeterminate' : ''}`}>
        <div style={{ width: frac === null ? '30%' : `${frac * 100}%` }} />
      </div>
      <ul className="file-list">
        {files.map(([p, f]) => (
          <li key={p}>
            <code>{p}</code> {formatBytes(f.loaded)}
            {f.total ? ` / ${formatBytes(f.total)}` : ''}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ModelInfoCard() {
  const info = useLab((s) => s.model.info);
  const status = useLab((s) => s.model.status);
  if (!info || status !== 'ready') return null;
  return (
    <Card title={info.repo} aside={<span className="pill pill-ok">{info.fromCache ? 'loaded from this browser' : 'downloaded'}</span>} testId="model-info">
      <Stats
        items={[
          ['Layers', <span data-testid="model-layers">{info.layers}</span>],
          ['d_model', <span data-testid="model-dmodel">{info.dModel}</span>],
          ['Heads (KV)', `${info.heads} (${info.kvHeads})`],
          ['Vocabulary', info.vocabSize.toLocaleString()],
          ['Architecture', info.modelType],
          ['Checkpoint dtype', info.checkpointDtype],
          ['Weights held as', info.weightsDtype],
          ['Memory', formatBytes(info.weightBytes)],
          ...(info.onnx
            ? ([
                ['Weights file', <code data-testid="model-onnx-file">{info.onnx.file}</code>],
                ['Export', <span data-testid="model-onnx-verdict">{verdictText(info.onnx)}</span>],
              ] as [string, React.ReactNode][])
            : []),
          ['Read', formatBytes(info.bytesRead)],
          ['Default steering hook', <code key="hook">{hookName(info.defaultLayer)}</code>],
          ['Loaded in', formatDuration(info.seconds)],
          [
            'Commit',
            <span data-testid="model-revision" title={info.pinned ? `every file was read at commit ${info.revision}` : 'this host names no commit, so the files are read at the branch as it is now'}>
              {info.pinned ? info.revision.slice(0, 10) : `${info.revision} (not pinned)`}
            </span>,
          ],
        ]}
      />
      <p className="muted">
        Steering at layer L adds the vector at <code>blocks.L.hook_resid_post</code> (TransformerLens' name): the residual stream after
        decoder block L (0-based, Hugging Face's <code>hidden_states[L+1]</code>), at every position. The default is the middle of the
        network, the paper's relative depth (layer 24 of 48 in Qwen2.5-14B). The paper hooks <code>mlp.down_proj</code>'s output, which is
        the same point for Qwen and Llama; Gemma 2/3 normalise the MLP output before the residual add, so there the two differ.
      </p>
    </Card>
  );
}

/** the loader's verdict on the ONNX file, as `npm run inspect` reports it */
function verdictText(v: NonNullable<ModelInfo['onnx']>): string {
  const chunks = v.external_chunks ? ` + ${plural(v.external_chunks, 'external-data file')}` : '';
  return `${v.layout} layout · ${v.dtype} · ${formatBytes(v.bytes)}${chunks} · ${v.ok ? 'read by steerlab' : `refused: ${v.reason}`}`;
}

/** q4f16 where the adapter has shader-f16, else the registry's default (q4) */
function preferredDtype(entry: RegistryModel, shaderF16: boolean | undefined): string {
  if (shaderF16 && entry.weights.some((w) => w.dtype === 'q4f16')) return 'q4f16';
  return entry.defaultWeights;
}

function CacheCard() {
  const [repos, setRepos] = useState<{ repo: string; files: number; bytes: number }[] | null>(null);
  const status = useLab((s) => s.model.status);
  const persisted = useLab((s) => s.storagePersisted);
  const [estimate, setEstimate] = useState<{ usage: number; quota: number } | undefined>();
  // models only: dataset files are cached too, but they are not what this card is for
  const refresh = () => (
    void storageEstimate().then(setEstimate),
    lab().call('cacheList', {}).promise.then((r) => setRepos(r.repos.filter((x) => x.model)), () => setRepos([]))
  );
  useEffect(() => {
    void refresh();
  }, [status]);
  return (
    <Card title="Cached in this browser" aside={<button className="btn small ghost" onClick={() => void refresh()}>Refresh</button>}>
      {!repos ? <p className="muted">…</p> : repos.length === 0 ? <p className="muted">No models cached yet. A loaded model is kept in this browser so that a reload works offline.</p> : (
        <table className="table">
          <tbody>
            {repos.map((r) => (
              <tr key={r.repo}>
                <td><code>{r.repo}</code></td>
                <td>{plural(r.files, 'file')}</td>
                <td>{formatBytes(r.bytes)}</td>
                <td>
                  <button className="btn small ghost" onClick={() => void lab().call('cacheClear', { repo: r.repo }).promise.then(refresh)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small" data-testid="storage-persistence" data-persisted={persisted === undefined ? 'unknown' : persisted ? 'yes' : 'no'}>
        {persistenceText(persisted, estimate, formatBytes)}
      </p>
    </Card>
  );
}

export function ModelPanel({ initialRepo }: { initialRepo?: string }) {
  const reg = loadRegistry();
  const m = useLab((s) => s.model);
  const [repo, setRepo] = useState(() => initialRepo ?? (m.repo || loadSetting<string>('lastModel', reg.defaultModel)));
  const [dtype, setDtype] = useState<string>('');
  /** a file picked from the Hub listing (ModelFiles); undefined = the registry's or steerlab's choice */
  const [onnxFile, setOnnxFile] = useState<string | undefined>();
  useEffect(() => setOnnxFile(undefined), [repo]);
  const [token, setToken] = useState(hubToken());
  const [showToken, setShowToken] = useState(!!hubToken());
  const entry = reg.models.find((x) => x.id === repo);
  const shaderF16 = useLab((s) => s.device?.kind === 'webgpu' && s.device.shaderF16);
  const chosenDtype = dtype || (entry ? preferredDtype(entry, shaderF16) : '');
  const busy = m.status === 'loading';
  useEffect(() => {
    if (m.repo && m.status === 'loading') setRepo(m.repo);
  }, [m.repo, m.status]);

  return (
    <div className="panel" data-testid="panel-model">
      <PanelHead title="Model" lead="Pick a chat model. It downloads once, then lives in this browser: later visits load it from the cache, even offline." />
      <div className="grid-2">
        <Card title="Models that work well here">
          <div className="model-list" role="radiogroup">
            {reg.models.map((x) => {
              const w = x.weights.find((k) => k.dtype === (dtype || preferredDtype(x, shaderF16))) ?? x.weights[0]!;
              return (
                <button key={x.id} role="radio" aria-checked={repo === x.id} className={`model-item${repo === x.id ? ' selected' : ''}`} onClick={() => setRepo(x.id)}>
                  <span className="model-name">
                    {x.label}
                    {x.id === reg.defaultModel ? <span className="pill">default</span> : null}
                  </span>
                  <span className="model-meta">
                    {plural(x.layers, 'layer')} · d {x.dModel} · {w.sizeSource === 'estimate' ? '≈' : ''}
                    {formatBytes(w.approxBytes + x.tokenizerApproxBytes)}
                  </span>
                </button>
              );
            })}
          </div>
        </Card>
        <Card title="Load">
          <Field label="Hugging Face repository" hint="A registry model above, or any Hub id with a config.json and safetensors or ONNX weights.">
            <input type="text" value={repo} data-testid="model-id" spellCheck={false} onChange={(e) => setRepo(e.target.value)} placeholder="owner/name" />
          </Field>
          {entry ? (
            <Field label="Weights">
              <select value={chosenDtype} onChange={(e) => setDtype(e.target.value)}>
                {entry.weights.map((w) => (
                  <option key={w.dtype} value={w.dtype}>
                    {w.dtype} — {w.file} ({w.sizeSource === 'estimate' ? '≈' : ''}
                    {formatBytes(w.approxBytes)})
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          {!entry ? <ModelFiles repo={repo} token={token || undefined} selected={onnxFile} onSelect={setOnnxFile} /> : null}
          <div className="row">
            <button className="btn primary" data-testid="load-model" disabled={busy || !repo.trim()} onClick={() => void loadModel(repo, { dtype: entry ? chosenDtype : undefined, onnxFile })}>
              {m.status === 'ready' && m.info?.repo === repo.trim() ? 'Reload' : 'Load model'}
            </button>
            <button className="btn ghost" onClick={() => setShowToken(!showToken)}>
              {showToken ? 'Hide token' : 'Access token…'}
            </button>
          </div>
          {showToken || m.gated ? (
            <Field label="Hugging Face access token" hint="Only for gated or private repositories. Kept in this browser's storage and sent only to the Hub.">
              <div className="row">
                <input type="password" value={token} placeholder="hf_…" onChange={(e) => setToken(e.target.value)} autoComplete="off" />
                <button className="btn small" onClick={() => setHubToken(token)}>
                  Save
                </button>
                <button className="btn small ghost" onClick={() => (setToken(''), setHubToken(''))}>
                  Forget
                </button>
              </div>
            </Field>
          ) : null}
          <DownloadProgress />
          <JobBar jobKey="model" />
          {(m.status === 'error' || m.status === 'ready') && m.error ? (
            <Message kind="error" testId="model-error">
              {m.gated ? (
                <>
                  <strong>This repository is gated.</strong> Accept its license on huggingface.co while logged in, create a read token
                  (Settings → Access Tokens), paste it above and load again. {m.error}
                </>
              ) : (
                m.error
              )}
            </Message>
          ) : null}
        </Card>
      </div>
      <ModelInfoCard />
      <div className="grid-2">
        <CacheCard />
        <SourcesCard />
      </div>
    </div>
  );
}
