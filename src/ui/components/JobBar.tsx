// The progress bar of a running job (looked up by its key), with elapsed time, an ETA when the fraction is
// known, and a cancel button. Renders nothing when the job is not running.

import { useEffect, useState } from 'react';
import { useLab } from '../store/store';
import { formatDuration } from '../lib/format';

export function JobBar({ jobKey, eta }: { jobKey: string; eta?: number }) {
  const job = useLab((s) => s.jobs[jobKey]);
  const [, tick] = useState(0);
  useEffect(() => {
    if (!job) return;
    const t = setInterval(() => tick((x) => x + 1), 1000);
    return () => clearInterval(t);
  }, [job]);
  if (!job) return null;
  const elapsed = (Date.now() - job.startedAt) / 1000;
  const f = job.fraction;
  const left = eta ?? (f && f > 0.02 ? (elapsed / f) * (1 - f) : undefined);
  return <ProgressBar label={job.label} detail={job.detail} fraction={f} elapsed={elapsed} eta={left} onCancel={job.cancel} testId={`job-${jobKey}`} />;
}

export function ProgressBar(props: { label: string; detail?: string; fraction: number | null; elapsed?: number; eta?: number; onCancel?: () => void; testId?: string }) {
  const { label, detail, fraction, elapsed, eta, onCancel, testId } = props;
  const pct = fraction === null ? null : Math.max(0, Math.min(1, fraction)) * 100;
  return (
    <div className="job" data-testid={testId} role="status">
      <div className="job-head">
        <strong>{label}</strong>
        <span className="job-time">
          {pct !== null ? `${pct.toFixed(0)} %` : ''}
          {elapsed !== undefined ? ` · ${formatDuration(elapsed)}` : ''}
          {eta !== undefined && Number.isFinite(eta) ? ` · ${formatDuration(eta)} left` : ''}
        </span>
        {onCancel ? (
          <button className="btn small ghost" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
      <div className={`bar${pct === null ? ' indeterminate' : ''}`}>
        <div style={{ width: pct === null ? '30%' : `${pct}%` }} />
      </div>
      {detail ? <div className="job-detail">{detail}</div> : null}
    </div>
  );
}
