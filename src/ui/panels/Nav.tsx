// The side navigation, grouped the way a study goes: set up, analyse, use and share, then the guided tour.
// A dot shows what is ready.

import { useShallow } from 'zustand/react/shallow';
import { setPanel, useLab, type PanelId } from '../store/store';

const GROUPS: { title: string; items: { id: PanelId; label: string }[] }[] = [
  { title: 'Set up', items: [{ id: 'model', label: 'Model' }, { id: 'data', label: 'Data' }, { id: 'train', label: 'Train' }] },
  {
    title: 'Analyse',
    items: [
      { id: 'efficiency', label: 'Efficiency' },
      { id: 'stability', label: 'Stability' },
      { id: 'pretrain', label: 'Pre-training' },
      { id: 'trajectory', label: 'Trajectory' },
    ],
  },
  { title: 'Use & share', items: [{ id: 'chat', label: 'Chat' }, { id: 'library', label: 'Vector library' }] },
  { title: 'Learn', items: [{ id: 'guide', label: 'Suggested extensions' }] },
];

export function Nav() {
  const panel = useLab((s) => s.panel);
  const ready = useLab(useShallow((s) => ({
    model: s.model.status === 'ready',
    data: s.data.train.status === 'ready',
    train: Object.values(s.runs).some((r) => r?.status === 'done'),
    library: s.vectors.length > 0,
  })));
  const busy = useLab(useShallow((s) => Object.keys(s.jobs)));
  const running = (id: PanelId) => busy.some((k) => k === id || k.startsWith(`${id}:`) || (id === 'model' && k === 'model') || (id === 'efficiency' && k.startsWith('efficiency')) || (id === 'stability' && k.startsWith('stability')) || (id === 'pretrain' && k.startsWith('fineweb')) || (id === 'trajectory' && k === 'pca') || (id === 'chat' && k.startsWith('chat')));
  return (
    <nav className="sidebar" aria-label="panels">
      {GROUPS.map((g) => (
        <div key={g.title} className="nav-group">
          <div className="nav-title">{g.title}</div>
          {g.items.map((it) => (
            <button key={it.id} className={`nav-item${panel === it.id ? ' active' : ''}`} data-panel={it.id} onClick={() => setPanel(it.id)}>
              <span>{it.label}</span>
              {running(it.id) ? <span className="dot dot-busy" title="working" /> : (ready as Record<string, boolean>)[it.id] ? <span className="dot dot-ok" title="ready" /> : null}
            </button>
          ))}
        </div>
      ))}
    </nav>
  );
}
