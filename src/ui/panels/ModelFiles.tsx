// The ONNX files of the repository being chosen, read off the Hub's file listing BEFORE anything downloads:
// dtype, size with every external-data chunk, and the verdict for this device — the file steerlab would pick
// (q4f16 with shader-f16, else q4), or why a file is refused (q8, too big for the GPU's buffers or wasm's 4 GiB).

import { useEffect, useState } from 'react';
import { chooseOnnxFile, type FileChoice } from '../../models/file_choice';
import { listHubFiles } from '../../models/file_listing';
import { HUB_URL, hubSource } from '../../models/file_source';
import { resolveHubRevision } from '../../models/hub_revision';
import { formatBytes, plural } from '../lib/format';
import { useLab } from '../store/store';

export function ModelFiles({ repo, token, selected, onSelect }: { repo: string; token?: string; selected?: string; onSelect: (file: string | undefined) => void }) {
  const device = useLab((s) => s.device);
  const hubUrl = useLab((s) => s.sources.hubUrl);
  const [state, setState] = useState<{ repo: string; choice?: FileChoice; error?: string } | null>(null);
  useEffect(() => {
    const id = repo.trim();
    if (!/^[\w.-]+\/[\w.-]+$/.test(id) || !device) return;
    const ctrl = new AbortController();
    const hub = { baseUrl: hubUrl || undefined, token, signal: ctrl.signal };
    const t = setTimeout(async () => {
      try {
        // the same commit the loader will read: `main` is pinned first, so no file is read at a moving branch
        const pin = await resolveHubRevision(id, { ...hub, baseUrl: hub.baseUrl ?? HUB_URL });
        const atCommit = { ...hub, revision: pin.sha };
        const listing = await listHubFiles(id, atCommit);
        let dims;
        try {
          const cfg = JSON.parse(new TextDecoder().decode(await hubSource(id, atCommit).get('config.json')));
          if (Number.isInteger(cfg.vocab_size) && Number.isInteger(cfg.hidden_size)) dims = { vocabSize: cfg.vocab_size, hiddenSize: cfg.hidden_size };
        } catch {
          // no config.json: the loader will say so
        }
        const limits = { kind: device.kind, shaderF16: device.shaderF16, ...device.limits };
        if (!ctrl.signal.aborted) setState({ repo: id, choice: chooseOnnxFile(listing, limits, dims) });
      } catch (e) {
        if (!ctrl.signal.aborted) setState({ repo: id, error: (e as Error).message });
      }
    }, 400);
    return () => (clearTimeout(t), ctrl.abort());
  }, [repo, token, hubUrl, device]);
  if (!state || state.repo !== repo.trim()) return null;
  if (state.error) return <p className="muted" data-testid="model-files-error">File list unavailable ({state.error}); the loader will pick a file itself.</p>;
  const c = state.choice!;
  if (!c.options.length) return null;
  const current = selected ?? c.choice?.file;
  return (
    <div data-testid="model-files">
      <table className="table">
        <tbody>
          {c.options.map((o) => (
            <tr key={o.file} data-testid="model-file" data-file={o.file} data-refused={o.refusal ? 'yes' : 'no'}>
              <td>
                <input type="radio" name="onnx-file" disabled={!!o.refusal} checked={current === o.file} onChange={() => onSelect(o.file === c.choice?.file ? undefined : o.file)} />
              </td>
              <td><code>{o.file}</code></td>
              <td>{o.dtype}</td>
              <td>
                {formatBytes(o.bytes)}
                {o.chunks.length ? ` (${plural(o.chunks.length, 'external-data file')})` : ''}
              </td>
              <td className={o.refusal ? 'muted' : ''}>{o.refusal ?? (o.file === c.choice?.file ? 'steerlab’s pick for this device' : 'readable')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!c.choice ? <p className="error" data-testid="model-files-refused">{c.reason}</p> : null}
    </div>
  );
}
