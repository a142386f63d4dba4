// Labelled form controls with one look: number, text, select, checkbox, slider.

import { useEffect, useState, type ReactNode } from 'react';

export function Field({ label, hint, children }: { label: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
    </label>
  );
}

/** A number box that lets the user type freely and commits only valid numbers. */
export function NumberInput(props: { value: number | null; onChange: (v: number | null) => void; min?: number; max?: number; step?: number; integer?: boolean; placeholder?: string; allowEmpty?: boolean; testId?: string }) {
  const { value, onChange, min, max, step, integer, placeholder, allowEmpty, testId } = props;
  const [text, setText] = useState(value === null ? '' : String(value));
  useEffect(() => setText(value === null ? '' : String(value)), [value]);
  const bad = (() => {
    if (text.trim() === '') return allowEmpty ? null : 'required';
    const v = Number(text);
    if (!Number.isFinite(v)) return 'not a number';
    if (integer && !Number.isInteger(v)) return 'whole number';
    if (min !== undefined && v < min) return `≥ ${min}`;
    if (max !== undefined && v > max) return `≤ ${max}`;
    return null;
  })();
  return (
    <>
      <input
        className={bad ? 'invalid' : ''}
        type="text"
        inputMode="decimal"
        value={text}
        placeholder={placeholder}
        step={step}
        data-testid={testId}
        onChange={(e) => {
          setText(e.target.value);
          const t = e.target.value.trim();
          if (t === '' && allowEmpty) return onChange(null);
          const v = Number(t);
          if (t !== '' && Number.isFinite(v) && (!integer || Number.isInteger(v)) && (min === undefined || v >= min) && (max === undefined || v <= max)) onChange(v);
        }}
      />
      {bad ? <span className="field-error">{bad}</span> : null}
    </>
  );
}

export function Slider(props: { label: string; value: number; min: number; max: number; step: number; onChange: (v: number) => void; format?: (v: number) => string; testId?: string }) {
  const { label, value, min, max, step, onChange, format, testId } = props;
  return (
    <label className="slider">
      <span className="field-label">
        {label} <output>{format ? format(value) : value}</output>
      </span>
      <input type="range" min={min} max={max} step={step} value={value} data-testid={testId} onChange={(e) => onChange(Number(e.target.value))} />
    </label>
  );
}

export function Check({ label, checked, onChange, testId }: { label: ReactNode; checked: boolean; onChange: (v: boolean) => void; testId?: string }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} data-testid={testId} onChange={(e) => onChange(e.target.checked)} />
      <span>{label}</span>
    </label>
  );
}
