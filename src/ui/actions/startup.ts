// What happens when the page opens: pick the execution provider in the worker, restore the library, runs and
// results from IndexedDB, and open a share link if the URL carries one. Storage that cannot be read (a private
// window, blocked site data) is said once, plainly: the lab still works, and every result offers a download.

import type { StartupOptions } from '../config';
import { requestPersistentStorage } from '../storage/errors';
import { storageProblem } from '../storage/idb';
import { notify, setPanel, useLab } from '../store/store';
import { errorText, lab } from './jobs';
import { loadModel } from './model';
import { restoreResults } from './results';
import { restoreRuns } from './train';
import { importShareFromLocation, loadLibrary } from './vectors';
import { importAdapterShareFromLocation, loadAdapterLibrary } from './adapters';

export async function startup(opts: StartupOptions): Promise<void> {
  useLab.setState({ sources: opts.sources });
  const device = lab()
    .call('init', { prefer: opts.prefer })
    .promise.then((info) => useLab.setState({ device: info }))
    .catch((e) => useLab.setState({ deviceError: errorText(e) }));
  // hours of runs and a downloaded model should not be evicted under storage pressure
  void requestPersistentStorage().then((persisted) => useLab.setState({ storagePersisted: persisted }));
  const restored = await Promise.allSettled([loadLibrary(), restoreRuns(), restoreResults(), loadAdapterLibrary()]);
  const failed = restored.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    notify('error', `Nothing from earlier visits could be read, and new work may not be kept: ${storageProblem(failed.reason).text} (${errorText(failed.reason)}). Everything works on this page; download what you want to keep.`, { where: 'storage' });
  }
  const offerModel = (repo: string) => {
    setPanel('model');
    void device.then(() => loadModel(repo));
  };
  await importShareFromLocation(offerModel);
  await importAdapterShareFromLocation();
  // a link pasted into the address bar of an open lab changes only the fragment: no page load, so listen for it
  window.addEventListener('hashchange', () => {
    void importShareFromLocation(offerModel);
    void importAdapterShareFromLocation();
  });
  await device;
}
