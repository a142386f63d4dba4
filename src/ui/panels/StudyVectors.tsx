// Which vectors an analysis compares: the runs of the loaded model (always), plus library vectors the user ticks.

import { useShallow } from 'zustand/react/shallow';
import { hookName } from '../../models/hooks';
import { Card } from '../components/Card';
import { Check } from '../components/Field';
import { fmt } from '../lib/format';
import { vectorFits } from '../../lab/vectors/match';
import { adapterFits } from '../../lab/adapters/match';
import { modelShape, useStudy } from '../lib/study';
import { useLab } from '../store/store';

export function StudyVectors() {
  const list = useStudy();
  const info = useLab((s) => s.model.info);
  // the runs' own saved copies are already listed above
  const runVectors = useLab(useShallow((s) => Object.values(s.runs).map((r) => r?.vectorId)));
  const library = useLab(useShallow((s) => s.vectors.filter((v) => vectorFits(v, modelShape(info)) && !runVectors.includes(v.id))));
  const ids = useLab((s) => s.studyIds);
  const adapters = useLab(useShallow((s) => s.adapters.filter((a) => adapterFits({ modelId: a.modelId, keys: a.adapter.keys }, modelShape(info)) && !runVectors.includes(a.id))));
  return (
    <Card title="Vectors under study" testId="study-vectors">
      {list.length === 0 ? <p className="muted">None yet: train a run, or tick a library vector made for this model.</p> : null}
      <ul className="legend">
        {list.map((v) => (
          <li key={v.key}>
            <span className="swatch" style={{ background: v.color }} />
            {v.label} <span className="muted">{v.adapter ? `LoRA · ‖θ‖ ${fmt(v.norm, 2)}` : `${hookName(v.layer, v.hook)} · ‖αv‖ ${fmt(v.norm, 2)}`}</span>
          </li>
        ))}
      </ul>
      {library.length ? (
        <details>
          <summary>Add library vectors ({library.length})</summary>
          {library.map((v) => (
            <Check
              key={v.id}
              checked={ids.includes(v.id)}
              onChange={(on) => useLab.setState((s) => ({ studyIds: on ? [...s.studyIds, v.id] : s.studyIds.filter((x) => x !== v.id) }))}
              label={
                <>
                  {v.name} <span className="muted">{hookName(v.layer, v.hook)} · ‖αv‖ {fmt(v.norm, 2)}</span>
                </>
              }
            />
          ))}
        </details>
      ) : null}
      {adapters.length ? (
        <details>
          <summary>Add library adapters ({adapters.length})</summary>
          {adapters.map((a) => (
            <Check
              key={a.id}
              checked={ids.includes(a.id)}
              onChange={(on) => useLab.setState((s) => ({ studyIds: on ? [...s.studyIds, a.id] : s.studyIds.filter((x) => x !== a.id) }))}
              label={
                <>
                  {a.name} <span className="muted">LoRA rank {a.adapter.rank} · ‖θ‖ {fmt(a.norm, 2)}</span>
                </>
              }
            />
          ))}
        </details>
      ) : null}
    </Card>
  );
}
