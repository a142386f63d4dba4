// Browser entry of the export check: checkOnnxFile (what `npm run inspect` runs) on the WebGPU EP, reading a
// fixture repository from a local server that plays the Hub; our logits are compared with onnxruntime-web
// running that very file on the same device.
import { createBackend } from '../../src/engine/runtime/backend';
import { hubSource } from '../../src/models/file_source';
import { checkOnnxFile } from '../../src/models/onnx_check';

declare global {
  interface Window {
    steerlabCheckOnnx(hubUrl: string, repo: string, file: string, ortDist: string): Promise<unknown>;
  }
}

window.steerlabCheckOnnx = async (hubUrl, repo, file, ortDist) => {
  const backend = await createBackend({ prefer: 'webgpu', wasmPaths: ortDist });
  const r = await checkOnnxFile(hubSource(repo, { baseUrl: hubUrl }), file, { backend });
  const logitScale = r.ort ? r.ort.reduce((m, x) => Math.max(m, Math.abs(x)), 0) : 0;
  return { backend: backend.kind, reason: backend.reason, status: r.status, verdict: r.verdict, logitScale };
};
