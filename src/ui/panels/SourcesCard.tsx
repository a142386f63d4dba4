// Where files come from: the Hub, the dataset host, the questions file and the FineWeb source. Defaults are the
// public hosts; a workshop or an offline machine can point them at a local mirror (npm run fixtures).

import { useState } from 'react';
import { defaultSources, type Sources } from '../config';
import { Card } from '../components/Card';
import { Field } from '../components/Field';
import { saveSetting } from '../storage/local';
import { notify, useLab } from '../store/store';

export function SourcesCard() {
  const cur = useLab((s) => s.sources);
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState<Sources>(cur);
  const set = (k: keyof Sources) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });
  return (
    <Card title="Sources" aside={<button className="btn small ghost" onClick={() => (setForm(cur), setOpen(!open))}>{open ? 'Close' : 'Change…'}</button>}>
      {!open ? (
        <ul className="kv">
          <li><span>Hub</span><code>{cur.hubUrl}</code></li>
          <li><span>Datasets</span><code>{cur.datasetsBase}</code></li>
          <li><span>FineWeb</span><code>{cur.fineweb}</code></li>
        </ul>
      ) : (
        <>
          <Field label="Hub URL"><input type="text" value={form.hubUrl} onChange={set('hubUrl')} /></Field>
          <Field label="Dataset folder URL"><input type="text" value={form.datasetsBase} onChange={set('datasetsBase')} /></Field>
          <Field label="EM questions file URL"><input type="text" value={form.questionsUrl} onChange={set('questionsUrl')} /></Field>
          <Field label="FineWeb source" hint='"hub" (the datasets-server), "hub:<rows API URL>", or a .parquet URL'>
            <input type="text" value={form.fineweb} onChange={set('fineweb')} />
          </Field>
          <div className="row">
            <button className="btn primary small" onClick={() => {
              useLab.setState({ sources: form });
              saveSetting('sources', form);
              setOpen(false);
              notify('info', 'Sources saved in this browser.');
            }}>Save</button>
            <button className="btn small ghost" onClick={() => setForm(defaultSources())}>Public defaults</button>
          </div>
        </>
      )}
    </Card>
  );
}
