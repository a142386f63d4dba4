// Entry point: read the startup options (sources, share link), render the app, start the worker.

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { startup } from './actions/startup';
import { readStartup } from './config';
import { useLab } from './store/store';
import './styles.css';

const opts = readStartup();
useLab.setState({ sources: opts.sources });
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App initialModel={opts.model} />
  </StrictMode>,
);
void startup(opts);

// a handle for debugging in the console and for the e2e tests (reads only; the UI is driven by clicks)
(window as unknown as { steerlab: unknown }).steerlab = { state: () => useLab.getState() };
