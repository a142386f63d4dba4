// What happens when the page opens: pick the execution provider in the worker, restore the library and runs
// from IndexedDB, and open a share link if the URL carries one.

import type { StartupOptions } from '../config';
import { setPanel, useLab } from '../store/store';
import { errorText, lab } from './jobs';
import { loadModel } from './model';
import { restoreRuns } from './train';
import { importShareFromLocation, loadLibrary } from './vectors';
import { importAdapterShareFromLocation, loadAdapterLibrary } from './adapters';

export async function startup(opts: StartupOptions): Promise<void> {
  useLab.setState({ sources: opts.sources });
  const device = lab()
    .call('init', { prefer: opts.prefer })
    .promise.then((info) => useLab.setState({ device: info }))
    .catch((e) => useLab.setState({ deviceError: errorText(e) }));
  await Promise.all([loadLibrary(), restoreRuns(), loadAdapterLibrary()]).catch((e) => useLab.setState({ deviceError: `this browser's storage could not be read: ${errorText(e)}` }));
  await importShareFromLocation((repo) => {
    setPanel('model');
    void device.then(() => loadModel(repo));
  });
  await importAdapterShareFromLocation();
  await device;
}
