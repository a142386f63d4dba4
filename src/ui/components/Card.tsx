// Panel building blocks: a titled card, a row of key figures, an inline message.

import type { ReactNode } from 'react';

export function Card({ title, aside, children, className = '', testId }: { title?: ReactNode; aside?: ReactNode; children: ReactNode; className?: string; testId?: string }) {
  return (
    <section className={`card ${className}`} data-testid={testId}>
      {title || aside ? (
        <header className="card-head">
          {title ? <h3>{title}</h3> : <span />}
          {aside}
        </header>
      ) : null}
      {children}
    </section>
  );
}

export function Stats({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="stats">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Message({ kind, children, testId }: { kind: 'error' | 'info' | 'warn' | 'success'; children: ReactNode; testId?: string }) {
  return (
    <div className={`msg msg-${kind}`} role={kind === 'error' ? 'alert' : undefined} data-testid={testId}>
      {children}
    </div>
  );
}

export function PanelHead({ title, lead, children }: { title: string; lead: ReactNode; children?: ReactNode }) {
  return (
    <header className="panel-head">
      <div>
        <h2>{title}</h2>
        <p className="lead">{lead}</p>
      </div>
      {children}
    </header>
  );
}
