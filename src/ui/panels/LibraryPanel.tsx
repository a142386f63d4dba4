// The vector library: every vector with its name, model, layer, norm and how it was made; a share link for each
// (the vector rides in the URL fragment); GGUF (llama.cpp control vector) and safetensors export; import of
// those files, share links and the lab's plan/report JSON. Bad files and links leave the library untouched.

import { useState } from 'react';
import { hookName } from '../../models/hooks';
import { loadRegistry } from '../../models/registry';
import { errorText } from '../actions/jobs';
import { loadModel } from '../actions/model';
import { setDataForm } from '../actions/data';
import { setTrainForm } from '../actions/train';
import { importVectors, removeVector, renameVector, shareLink } from '../actions/vectors';
import { decodeShareFragment } from '../../lab/vectors/share';
import { Card, Message, PanelHead } from '../components/Card';
import { Chart } from '../components/Chart';
import { downloadBytes, fileStem } from '../lib/download';
import { fmt, plural } from '../lib/format';
import { formsFromPlan, planFromState, reportFromState } from '../lib/report';
import { ggufBytes, readVectorFile, safetensorsBytes } from '../lib/vector_files';
import { notify, setPanel, useLab } from '../store/store';
import type { RunSlot, StoredVector } from '../store/types';
import { libraryColor, RUN_COLORS } from '../lib/study';
import { AdaptersCard } from './AdaptersCard';

function modelTypeFor(v: StoredVector): string {
  const info = useLab.getState().model.info;
  if (info?.repo === v.modelId) return info.modelType;
  return loadRegistry().models.find((m) => m.id === v.modelId)?.arch ?? 'unknown';
}

/** The message of the last error thrown by an action run through `run` (cleared on each new run). */
function useCaughtError(): [string | undefined, (f: () => void) => void] {
  const [err, setErr] = useState<string>();
  const run = (f: () => void) => {
    try {
      setErr(undefined);
      f();
    } catch (e) {
      setErr(errorText(e));
    }
  };
  return [err, run];
}

/** The llama.cpp command line that applies an exported control vector at its layer. */
export function llamaCommand(file: string, layer: number, scale = 1): string {
  return `llama-cli -m model.gguf --control-vector-scaled ${file} ${scale} --control-vector-layer-range ${layer} ${layer}`;
}

function VectorRow({ v }: { v: StoredVector }) {
  const [name, setName] = useState(v.name);
  const [link, setLink] = useState<ReturnType<typeof shareLink> | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [err, exporting] = useCaughtError();
  const loaded = useLab((s) => s.model.info?.repo);
  return (
    <li className="vector" data-testid="vector-row" data-vector-name={v.name}>
      <div className="vector-main">
        <input type="text" className="vector-name" value={name} aria-label="name" onChange={(e) => setName(e.target.value)} onBlur={() => name !== v.name && void renameVector(v.id, name)} />
        <div className="vector-meta">
          <code>{v.modelId}</code> · <code>{hookName(v.layer, v.hook)}</code> · α {fmt(v.alpha, 0)} · ‖αv‖ <strong data-testid="vector-norm">{fmt(v.norm, 4)}</strong> · d {v.data.length}
        </div>
        <div className="muted">
          {v.how} · {new Date(v.createdAt).toLocaleString()}
        </div>
      </div>
      <div className="vector-actions">
        <button className="btn small" data-testid="share-vector" onClick={() => exporting(() => setLink(shareLink(v)))}>
          Share link
        </button>
        <button className="btn small ghost" data-testid="export-gguf" onClick={() => exporting(() => (downloadBytes(ggufBytes(v, modelTypeFor(v)), `${fileStem(v.name)}.gguf`), setExported(`${fileStem(v.name)}.gguf`)))}>
          GGUF
        </button>
        <button className="btn small ghost" data-testid="export-safetensors" onClick={() => exporting(() => downloadBytes(safetensorsBytes(v), `${fileStem(v.name)}.safetensors`))}>
          safetensors
        </button>
        {loaded !== v.modelId ? (
          <button className="btn small ghost" onClick={() => (setPanel('model'), void loadModel(v.modelId))}>
            Load its model
          </button>
        ) : null}
        <button className="btn small ghost danger-text" onClick={() => confirm(`Delete “${v.name}” from this browser?`) && void removeVector(v.id)}>
          Delete
        </button>
      </div>
      {link ? (
        <div className="share">
          <input type="text" readOnly value={link.url} data-testid="share-url" onFocus={(e) => e.target.select()} />
          <button className="btn small" onClick={() => void navigator.clipboard?.writeText(link.url).then(() => notify('success', 'Share link copied.'), () => notify('info', 'Select the link and copy it.'))}>
            Copy
          </button>
          <span className="muted">
            {link.encoding === 'f16' ? 'f16' : 'int8 + scale (the f16 link would pass 8 KB)'} · {(link.chars / 1024).toFixed(1)} KB · the vector travels in the #fragment, which is never sent to a server
          </span>
        </div>
      ) : null}
      {exported ? (
        <Message kind="success" testId="export-confirmation">
          Saved <code>{exported}</code>, a llama.cpp control vector for layer {v.layer} (α·v, strength 1 = as trained). Use it with the same model in GGUF form:
          <pre className="command" data-testid="llama-command">{llamaCommand(exported, v.layer)}</pre>
          <span className="muted small">
            --control-vector-scaled FILE SCALE adds SCALE × the vector; the layer range keeps it on layer {v.layer} only. <button className="btn small ghost" onClick={() => setExported(null)}>Close</button>
          </span>
        </Message>
      ) : null}
      {err ? <Message kind="error">{err}</Message> : null}
    </li>
  );
}

function ImportCard() {
  const [text, setText] = useState('');
  const [err, setErr] = useState<string>();
  const [ok, setOk] = useState<string>();
  const modelId = useLab((s) => s.model.info?.repo);
  const report = (m: string) => (setErr(undefined), setOk(m));
  const fail = (m: string) => (setOk(undefined), setErr(m));

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setOk(undefined);
    setErr(undefined);
    try {
      const r = await readVectorFile(file, { modelId });
      if (r.kind === 'vectors') {
        const stored = await importVectors(r.vectors, `imported ${r.format} (${file.name})`);
        report(`Imported ${plural(stored.length, 'vector')} from ${file.name}.`);
      } else if (r.kind === 'report') {
        const stored = await importVectors(r.vectors, `from report ${file.name}`);
        report(`Imported ${plural(stored.length, 'run vector')} from the report ${file.name}.`);
      } else {
        const f = formsFromPlan(r.plan);
        setTrainForm(f.train);
        setDataForm(f.data);
        report(`Plan ${file.name} loaded: training settings and data choices are filled in. Model: ${f.model}.`);
      }
    } catch (e) {
      fail(`${errorText(e)} — nothing was added to your library.`);
    }
  };

  const onLink = async () => {
    try {
      const v = decodeShareFragment(text.trim());
      const [s] = await importVectors([v], 'pasted share link');
      report(`Imported “${s!.name}”.`);
      setText('');
    } catch (e) {
      fail(`${errorText(e)} — nothing was added to your library.`);
    }
  };

  return (
    <Card title="Import">
      <label className="drop">
        <input type="file" accept=".gguf,.safetensors,.json" data-testid="import-file" onChange={(e) => (void onFile(e.target.files?.[0]), (e.target.value = ''))} />
        <span>Choose a GGUF control vector, a safetensors vector, or a steerlab plan/report .json</span>
      </label>
      <div className="row">
        <input type="text" placeholder="…or paste a share link" value={text} data-testid="import-link" onChange={(e) => setText(e.target.value)} />
        <button className="btn small" disabled={!text.trim()} onClick={() => void onLink()} data-testid="import-link-go">
          Open
        </button>
      </div>
      {ok ? <Message kind="success" testId="import-ok">{ok}</Message> : null}
      {err ? <Message kind="error" testId="import-error">{err}</Message> : null}
    </Card>
  );
}

function ExportCard() {
  const [err, run] = useCaughtError();
  return (
    <Card title="Export the study">
      <p className="muted">The plan reruns the whole study headless (<code>npm run lab -- plan.json</code>); the report adds every curve and vector measured here. Its shares are fractions in [0, 1] (PCA explained variance 0.79, not 79); stability is the one percentage, as its <code>units</code> field says.</p>
      <div className="row">
        <button className="btn small" onClick={() => run(() => downloadBytes(JSON.stringify(planFromState(useLab.getState()), null, 1), 'steerlab.plan.json', 'application/json'))}>
          Plan JSON
        </button>
        <button
          className="btn small"
          data-testid="export-report"
          onClick={() => run(() => downloadBytes(JSON.stringify(reportFromState(useLab.getState(), { app: 'steerlab', 'onnxruntime-web': useLab.getState().device?.ortVersion ?? '' }), null, 1), 'steerlab.report.json', 'application/json'))}
        >
          Report JSON
        </button>
      </div>
      {err ? <Message kind="error">{err}</Message> : null}
    </Card>
  );
}

/** Long names wrap at word boundaries (about 40 characters a line) instead of being cut. */
function wrapName(name: string, width = 40): string {
  const lines: string[] = [];
  let cur = '';
  for (const w of name.split(' ')) {
    if (cur && (cur + ' ' + w).length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  lines.push(cur);
  return lines.join('<br>');
}

/** A run's vector in its run's colour, any other in the colour its id gives it everywhere. */
function colorOfVector(v: StoredVector, runs: ReturnType<typeof useLab.getState>['runs']): string {
  const slot = (Object.keys(runs) as RunSlot[]).find((k) => runs[k]?.vectorId === v.id);
  return slot ? RUN_COLORS[slot] : libraryColor(v.id);
}

export function LibraryPanel() {
  const vectors = useLab((s) => s.vectors);
  const runs = useLab((s) => s.runs);
  return (
    <div className="panel" data-testid="panel-library">
      <PanelHead title="Vector library" lead="Every vector you trained or imported, kept in this browser. Share one as a link, or take it to llama.cpp as a GGUF control vector." />
      <div className="grid-side">
        <div>
          <ImportCard />
          <ExportCard />
          <AdaptersCard />
        </div>
        <Card title={plural(vectors.length, 'vector')}>
          {vectors.length ? (
            <Chart
              title="Norms in the library"
              // horizontal bars: whole names, never clipped (long ones wrap); each vector in its own colour, as in every chart
              traces={[
                {
                  y: vectors.map((v, i) => `${i + 1}. ${wrapName(v.name)}`).reverse(),
                  x: vectors.map((v) => v.norm).reverse(),
                  type: 'bar',
                  orientation: 'h',
                  name: '‖αv‖',
                  marker: { color: vectors.map((v) => colorOfVector(v, runs)).reverse() },
                  hovertemplate: '%{y}: %{x:.3f}<extra></extra>',
                },
              ]}
              xTitle="‖αv‖"
              yTitle=""
              height={60 + 34 * vectors.length}
            />
          ) : null}
          {vectors.length === 0 ? <p className="muted">Empty. Train a run, open a share link, or import a file.</p> : null}
          <ul className="vector-list" data-testid="vector-list">
            {vectors.map((v) => (
              <VectorRow key={v.id} v={v} />
            ))}
          </ul>
        </Card>
      </div>
    </div>
  );
}
