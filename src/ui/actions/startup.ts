// What happens when the page opens: pick the execution provider in the worker, restore the library and runs
// from IndexedDB, and open a share link if the URL carries one.

import type { StartupOptions } from '../config';
import { requestPersistentStorage } from '../storage/errors';
import { setPanel, useLab } from '../store/store';
import { errorText, lab } from './jobs';
import { loadModel } from './model';
import { restoreRuns } from './train';
import { importShareFromLocation, loadLibrary } from './vectors';

export async function startup(opts: StartupOptions): Promise<void> {
  useLab.setState({ sources: opts.sources });
  const device = lab()
    .call('init', { prefer: opts.prefer })
    .promise.then((info) => useLab.setState({ device: info }))
    .catch((e) => useLab.setState({ deviceError: errorText(e) }));
  // hours of runs and a downloaded model should not be evicted under storage pressure
  void requestPersistentStorage().then((persisted) => useLab.setState({ storagePersisted: persisted }));
  await Promise.all([loadLibrary(), restoreRuns()]).catch((e) => useLab.setState({ deviceError: `this browser's storage could not be read: ${errorText(e)}` }));
  const offerModel = (repo: string) => {
    setPanel('model');
    void device.then(() => loadModel(repo));
  };
  await importShareFromLocation(offerModel);
  // a link pasted into the address bar of an open lab changes only the fragment: no page load, so listen for it
  window.addEventListener('hashchange', () => void importShareFromLocation(offerModel));
  await device;
}
