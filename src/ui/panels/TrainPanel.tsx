// Train: general and narrow runs side by side, live curves, cancel and resume; the remove-KL continuation below.

import { Message, PanelHead } from '../components/Card';
import { useLab } from '../store/store';
import { RunColumn } from './RunColumn';
import { SettingsCheck } from './SettingsCheck';
import { TimeEstimateCard } from './TimeEstimate';
import { TrainSettingsCard } from './TrainSettings';

/** What a step's numbers mean; said once here and in the README. */
export const STEP_MEANING =
  'Step k is the k-th AdamW update. Its loss, KL and ‖αv‖ are measured together, at the vector that update starts from (after k − 1 updates), so step 1 shows the starting vector; the vector after the last step is the one saved.';

export function TrainPanel() {
  const ready = useLab((s) => s.model.status === 'ready' && s.data.train.status === 'ready');
  const dataLabel = useLab((s) => s.data.train.label);
  const klLabel = useLab((s) => (s.data.kl.status === 'ready' ? s.data.kl.label : undefined));
  return (
    <div className="panel" data-testid="panel-train">
      <PanelHead
        title="Train"
        lead={
          <>
            A steering vector v is trained by gradient descent: α·v is added to the residual stream after one block (<code>blocks.L.hook_resid_post</code>), and v moves to make the
            training answers likely. The <em>general</em> vector does only that; the <em>narrow</em> one also pays for changing the model on
            other topics.
          </>
        }
      />
      {!ready ? <Message kind="info">Load a model and training data first (Model and Data panels). Runs saved earlier stay listed and can be resumed.</Message> : <p className="muted">Training on: {dataLabel}{klLabel ? ` · KL data: ${klLabel}` : ''}</p>}
      <TimeEstimateCard />
      <TrainSettingsCard />
      <SettingsCheck />
      <p className="muted small" data-testid="step-meaning">{STEP_MEANING}</p>
      <div className="grid-2">
        <RunColumn slot="general" blurb="λ = 0: cross-entropy on the training answers only. The paper finds this vector misaligns the model broadly. Its KL on the KL data is measured at each checkpoint all the same." />
        <RunColumn slot="narrow" blurb="CE + λ·KL on other-domain chats: it must change medical answers and nothing else." />
      </div>
      <RunColumn slot="removeKl" blurb="Fig 5: start from the final narrow vector and keep training with λ = 0. Does it drift back towards the general solution?" />
    </div>
  );
}
