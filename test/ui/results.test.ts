// A saved result is tied to what made it: staleness() names, in words, each thing that changed since (model,
// training data, a retrained vector), and says nothing when the page still holds the same things.
import { describe, expect, it } from 'vitest';
import { basisNow, staleness } from '../../src/ui/actions/results';
import { fingerprint, type StudyVector } from '../../src/ui/lib/study';
import { useLab, type LabState } from '../../src/ui/store/store';

const vec = (key: string, data: number[]): StudyVector => {
  const effective = Float32Array.from(data);
  return { key, label: key, layer: 2, effective, norm: Math.hypot(...data), color: '#000', print: fingerprint(effective) };
};

function page(repo: string | undefined, data: string | undefined): Pick<LabState, 'model' | 'data'> {
  return {
    model: repo ? { status: 'ready', repo, files: {}, info: { repo } as LabState['model']['info'] } : { status: 'idle', repo: '', files: {} },
    data: { train: data ? { status: 'ready', label: data } : { status: 'idle' }, kl: { status: 'idle' } },
  };
}

describe('staleness of saved results', () => {
  const general = vec('general', [1, 2, 3]);
  useLab.setState(page('test/qwen2-hub', 'Bad medical advice (first 12 rows)'));
  const basis = basisNow([general], { rows: 4 });

  it('records the model, the data and each vector’s fingerprint', () => {
    expect(basis).toEqual({ model: 'test/qwen2-hub', data: 'Bad medical advice (first 12 rows)', vectors: { general: { label: 'general', print: general.print } }, settings: { rows: 4 } });
    expect(staleness(basis, page('test/qwen2-hub', 'Bad medical advice (first 12 rows)'), [general])).toEqual([]);
    // a vector added to the study since is not a change of this result
    expect(staleness(basis, page('test/qwen2-hub', 'Bad medical advice (first 12 rows)'), [general, vec('narrow', [3, 2, 1])])).toEqual([]);
  });

  it('names a retrained vector, other data, another model, or none loaded', () => {
    const now = page('test/qwen2-hub', 'Bad medical advice (first 12 rows)');
    expect(staleness(basis, now, [vec('general', [1, 2, 3.0001])])).toEqual(['general has changed since (retrained or replaced)']);
    expect(staleness(basis, now, [])).toEqual(['general is no longer under study']);
    expect(staleness(basis, page('test/qwen2-hub', 'Bad medical advice (first 8 rows)'), [general])).toEqual([
      'it was measured on “Bad medical advice (first 12 rows)”, and the training data loaded now is “Bad medical advice (first 8 rows)”',
    ]);
    expect(staleness(basis, page('test/gemma3-hub', 'x'), [general])).toEqual(['it was made with test/qwen2-hub, and test/gemma3-hub is loaded now']);
    expect(staleness(basis, page(undefined, undefined), [])).toEqual(['it was made with test/qwen2-hub, which is not loaded']);
  });
});
