// The adapter library: LoRA runs and imported adapters with rank, modules, layers and ‖θ‖; PEFT export
// (adapter_model.safetensors + adapter_config.json) and import (both files at once), rank-1 share links (bigger
// adapters are refused with their size). Bad files and links leave the library untouched.

import { useState } from 'react';
import { splitKey } from '../../lab/adapters/lora';
import { encodeAdapterShare } from '../../lab/adapters/share';
import { exportStoredAdapter, importAdapterLink, importPeftFiles, removeAdapter } from '../actions/adapters';
import { errorText } from '../actions/jobs';
import { Card, Message } from '../components/Card';
import { fmt } from '../lib/format';
import { useLab } from '../store/store';
import type { StoredAdapter } from '../store/types';

function layersText(layers: number[]): string {
  const s = [...new Set(layers)].sort((a, b) => a - b);
  return s.length > 1 && s.every((l, i) => i === 0 || l === s[i - 1]! + 1) ? `${s[0]}–${s.at(-1)}` : s.join(', ');
}

function AdapterRow({ a }: { a: StoredAdapter }) {
  const [link, setLink] = useState<string>();
  const [err, setErr] = useState<string>();
  const parts = a.adapter.keys.map(splitKey);
  return (
    <li className="vector" data-testid="adapter-row" data-adapter-name={a.name}>
      <div className="vector-main">
        <strong>{a.name}</strong>
        <div className="vector-meta">
          <code>{a.modelId}</code> · rank <span data-testid="adapter-rank">{a.adapter.rank}</span> · α {fmt(a.adapter.alpha, 0)} · {[...new Set(parts.map((p) => p.module))].join(', ')} · layers {layersText(parts.map((p) => p.layer))} · ‖θ‖{' '}
          <strong data-testid="adapter-norm">{fmt(a.norm, 4)}</strong> · {a.adapter.data.length} params
        </div>
        <div className="muted">
          {a.how} · {new Date(a.createdAt).toLocaleString()}
        </div>
      </div>
      <div className="vector-actions">
        <button className="btn small" data-testid="export-peft" onClick={() => void exportStoredAdapter(a)}>
          PEFT files
        </button>
        <button
          className="btn small ghost"
          data-testid="share-adapter"
          onClick={() => {
            try {
              setErr(undefined);
              setLink(`${location.origin}${location.pathname}${encodeAdapterShare(a)}`);
            } catch (e) {
              setErr(errorText(e));
            }
          }}
        >
          Share link
        </button>
        <button className="btn small ghost danger-text" onClick={() => confirm(`Delete “${a.name}” from this browser?`) && void removeAdapter(a.id)}>
          Delete
        </button>
      </div>
      {link ? (
        <div className="share">
          <input type="text" readOnly value={link} data-testid="adapter-share-url" onFocus={(e) => e.target.select()} />
          <span className="muted">f16 · {(link.length / 1024).toFixed(1)} KB · the adapter travels in the #fragment</span>
        </div>
      ) : null}
      {err ? <Message kind="error" testId="adapter-error">{err}</Message> : null}
    </li>
  );
}

export function AdaptersCard() {
  const adapters = useLab((s) => s.adapters);
  const [text, setText] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string }>();
  const run = async (f: () => Promise<StoredAdapter>) => {
    setMsg(undefined);
    try {
      const a = await f();
      setMsg({ ok: true, text: `Imported the adapter “${a.name}”.` });
    } catch (e) {
      setMsg({ ok: false, text: `${errorText(e)} — nothing was added to your library.` });
    }
  };
  return (
    <Card title={`${adapters.length} LoRA adapter${adapters.length === 1 ? '' : 's'}`} testId="adapter-library">
      <label className="drop">
        <input type="file" multiple accept=".safetensors,.json" data-testid="import-peft" onChange={(e) => (void run(() => importPeftFiles([...(e.target.files ?? [])])), (e.target.value = ''))} />
        <span>Choose PEFT’s adapter_model.safetensors and adapter_config.json together</span>
      </label>
      <div className="row">
        <input type="text" placeholder="…or paste an adapter share link" value={text} data-testid="import-adapter-link" onChange={(e) => setText(e.target.value)} />
        <button className="btn small" disabled={!text.trim()} onClick={() => void run(() => importAdapterLink(text.trim())).then(() => setText(''))}>
          Open
        </button>
      </div>
      {msg ? <Message kind={msg.ok ? 'success' : 'error'} testId={msg.ok ? 'adapter-import-ok' : 'adapter-import-error'}>{msg.text}</Message> : null}
      {adapters.length === 0 ? <p className="muted">None yet: train a run with a LoRA preset (Train), or import PEFT files.</p> : null}
      <ul className="vector-list" data-testid="adapter-list">
        {adapters.map((a) => (
          <AdapterRow key={a.id} a={a} />
        ))}
      </ul>
    </Card>
  );
}
