// Train: general and narrow runs side by side, live curves, cancel and resume; the remove-KL continuation below.

import { Message, PanelHead } from '../components/Card';
import { useLab } from '../store/store';
import { RunColumn } from './RunColumn';
import { TrainSettingsCard } from './TrainSettings';

export function TrainPanel() {
  const ready = useLab((s) => s.model.status === 'ready' && s.data.train.status === 'ready');
  const dataLabel = useLab((s) => s.data.train.label);
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
      {!ready ? <Message kind="info">Load a model and training data first (Model and Data panels). Runs saved earlier stay listed and can be resumed.</Message> : <p className="muted">Training on: {dataLabel}</p>}
      <TrainSettingsCard />
      <div className="grid-2">
        <RunColumn slot="general" blurb="λ = 0: cross-entropy on the training answers only. The paper finds this vector misaligns the model broadly." />
        <RunColumn slot="narrow" blurb="CE + λ·KL on other-domain chats: it must change medical answers and nothing else." />
      </div>
      <RunColumn slot="removeKl" blurb="Fig 5: start from the final narrow vector and keep training with λ = 0. Does it drift back towards the general solution?" />
    </div>
  );
}
