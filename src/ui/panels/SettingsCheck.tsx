// The training settings checked against the loaded data (src/ui/lib/settings_check.ts): each finding with
// the fix it offers; applying a fix says what it changed.

import { setTrainForm } from '../actions/train';
import { Message } from '../components/Card';
import { checkSettings } from '../lib/settings_check';
import { notify, useLab } from '../store/store';

export function SettingsCheck() {
  const f = useLab((s) => s.trainForm);
  const rows = useLab((s) => (s.data.train.status === 'ready' ? s.data.train.summary?.train : undefined));
  const klRows = useLab((s) => (s.data.kl.status === 'ready' ? s.data.kl.summary?.train : undefined));
  const found = checkSettings(f, rows, klRows);
  if (!found.length) return null;
  return (
    <div data-testid="settings-check">
      {found.map((x) => (
        <Message key={x.id} kind="warn" testId={`settings-check-${x.id}`}>
          {x.text}{' '}
          <button
            className="btn small"
            data-testid={`settings-fix-${x.id}`}
            onClick={() => {
              setTrainForm(x.fix);
              notify('info', `Changed ${Object.entries(x.fix).map(([k, v]) => `${k} to ${v}`).join(', ')}.`, { where: 'Train settings' });
            }}
          >
            {x.fixLabel}
          </button>
        </Message>
      ))}
    </div>
  );
}
