// Under a sweep's button: how far the saved sweep got ("cancelled at 5 of 18 points", with Resume), what it was
// made with, and — when the model, data or vectors changed since — that it is stale and why.

import { staleness } from '../actions/results';
import type { StudyVector } from '../lib/study';
import { useLab } from '../store/store';
import type { SweepMeta } from '../store/types';
import { Message } from './Card';
import { plural } from '../lib/format';

const STATUS: Record<SweepMeta['status'], string> = { running: 'running', done: 'complete', cancelled: 'cancelled', interrupted: 'interrupted (the page closed)', failed: 'failed' };

export function ResultStatus({ meta, study, onResume, testId, extraStale = [] }: { meta?: SweepMeta; study: StudyVector[]; onResume?: () => void; testId: string; extraStale?: string[] }) {
  const model = useLab((s) => s.model);
  const data = useLab((s) => s.data);
  const busy = useLab((s) => Object.keys(s.jobs).length > 0);
  if (!meta) return null;
  const stale = [...staleness(meta.basis, { model, data }, study), ...extraStale];
  const partial = meta.status !== 'done' && meta.status !== 'running';
  const settings = Object.entries(meta.basis.settings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    <div className="result-status" data-testid={testId} data-status={meta.status} data-stale={stale.length ? 'yes' : 'no'}>
      {partial ? (
        <Message kind="warn">
          <span data-testid={`${testId}-progress`}>
            {STATUS[meta.status][0]!.toUpperCase() + STATUS[meta.status].slice(1)} at {meta.done} of {plural(meta.total, 'point')}
          </span>
          {meta.error ? `: ${meta.error}` : ''}. The points measured are kept{onResume && !stale.length ? '; Resume measures the rest' : ''}.
          {onResume && !stale.length ? (
            <button className="btn small" data-testid={`${testId}-resume`} disabled={busy || model.status !== 'ready'} onClick={onResume}>
              Resume ({meta.total - meta.done} left)
            </button>
          ) : null}
        </Message>
      ) : null}
      {stale.length ? (
        <Message kind="warn" testId={`${testId}-stale`}>
          Stale: {stale.join('; ')}. Run the sweep again for up-to-date curves.
        </Message>
      ) : null}
      <p className="muted small">
        {meta.status === 'done' ? `Saved in this browser: ${plural(meta.total, 'point')}` : `Saved so far: ${meta.done} of ${plural(meta.total, 'point')}`} on {Object.values(meta.basis.vectors).map((v) => v.label).join(', ')}
        {settings ? ` (${settings})` : ''}, {meta.basis.model}, {new Date(meta.updatedAt).toLocaleString()}.
      </p>
    </div>
  );
}
