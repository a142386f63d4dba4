// Messages the actions raise (errors with where they happened, imports, completions), newest last.

import { dismiss, useLab } from '../store/store';

export function Notices() {
  const notices = useLab((s) => s.notices);
  if (!notices.length) return null;
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.kind}`} data-testid={`notice-${n.kind}`}>
          <span className="notice-text">
            {n.where ? <em>{n.where}: </em> : null}
            {n.text}
          </span>
          {n.action ? (
            <button
              className="btn small"
              onClick={() => {
                n.action!.run();
                dismiss(n.id);
              }}
            >
              {n.action.label}
            </button>
          ) : null}
          <button className="btn small ghost" aria-label="dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
