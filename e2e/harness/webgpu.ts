// What the page's WebGPU adapter is, as the tests and the bench report it.

import type { Page } from 'playwright-core';

export interface AdapterReport {
  available: boolean;
  /** why not, when available is false */
  reason?: string;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  features?: string[];
  shaderF16?: boolean;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

export async function adapterReport(page: Page): Promise<AdapterReport> {
  return page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<any> } }).gpu;
    if (!gpu) return { available: false, reason: 'navigator.gpu is undefined (WebGPU disabled or not a secure context)' };
    const a: any = await gpu.requestAdapter();
    if (!a) return { available: false, reason: 'requestAdapter() returned null (no usable GPU or software adapter)' };
    const info = a.info ?? {};
    const features = [...a.features] as string[];
    return {
      available: true,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter ?? a.isFallbackAdapter,
      features: features.sort(),
      shaderF16: features.includes('shader-f16'),
      maxBufferSize: a.limits.maxBufferSize,
      maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
    };
  });
}
