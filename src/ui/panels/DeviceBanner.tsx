// What the lab runs on: the WebGPU adapter and its features, or the wasm fallback and why; a lost GPU device
// replaces it with what to do next.

import { useState } from 'react';
import { useLab } from '../store/store';
import { plural } from '../lib/format';

export function DeviceBanner() {
  const device = useLab((s) => s.device);
  const error = useLab((s) => s.deviceError);
  const lost = useLab((s) => s.deviceLost);
  const [open, setOpen] = useState(false);
  if (lost) return <div className="device device-lost" data-testid="device-banner" role="alert">⚠ {lost}</div>;
  if (error) return <div className="device device-error" data-testid="device-banner" role="alert">The lab could not start: {error}</div>;
  if (!device) return <div className="device" data-testid="device-banner">Looking for a GPU…</div>;
  const a = device.adapter;
  const name = [a?.vendor, a?.architecture, a?.description].filter(Boolean).join(' · ') || 'unnamed adapter';
  return (
    <div className={`device ${device.kind === 'webgpu' ? 'device-gpu' : 'device-cpu'}`} data-testid="device-banner" data-backend={device.kind}>
      <span className="device-kind">{device.kind === 'webgpu' ? 'WebGPU' : 'wasm (CPU)'}</span>
      {device.kind === 'webgpu' ? (
        <span>
          {name} · shader-f16 {device.shaderF16 ? 'yes' : 'no'} ·{' '}
          <button className="linklike" onClick={() => setOpen(!open)}>
            {a?.features.length ?? 0} features
          </button>
        </span>
      ) : (
        <span>
          fallback: {device.reason ?? 'WebGPU unavailable'} · {plural(device.threads, 'thread')}
        </span>
      )}
      {!device.crossOriginIsolated ? <span className="device-warn">page not cross-origin isolated: wasm runs single-threaded</span> : null}
      <span className="device-ort">onnxruntime-web {device.ortVersion}</span>
      {open && a ? <div className="device-features">{a.features.join(' · ')}</div> : null}
    </div>
  );
}
