// The lab's frame: title bar with the device banner, the panel navigation, notices, and the active panel.

import type { JSX } from 'react';
import { useLab, type PanelId } from './store/store';
import { ChatPanel } from './panels/ChatPanel';
import { DataPanel } from './panels/DataPanel';
import { DeviceBanner } from './panels/DeviceBanner';
import { EfficiencyPanel } from './panels/EfficiencyPanel';
import { GuidePanel } from './panels/GuidePanel';
import { LibraryPanel } from './panels/LibraryPanel';
import { ModelPanel } from './panels/ModelPanel';
import { Nav } from './panels/Nav';
import { Notices } from './panels/Notices';
import { PretrainPanel } from './panels/PretrainPanel';
import { StabilityPanel } from './panels/StabilityPanel';
import { TrainPanel } from './panels/TrainPanel';
import { TrajectoryPanel } from './panels/TrajectoryPanel';

export function App({ initialModel }: { initialModel?: string }) {
  const panel = useLab((s) => s.panel);
  const panels: Record<PanelId, () => JSX.Element> = {
    model: () => <ModelPanel initialRepo={initialModel} />,
    data: () => <DataPanel />,
    train: () => <TrainPanel />,
    efficiency: () => <EfficiencyPanel />,
    stability: () => <StabilityPanel />,
    pretrain: () => <PretrainPanel />,
    trajectory: () => <TrajectoryPanel />,
    chat: () => <ChatPanel />,
    library: () => <LibraryPanel />,
    guide: () => <GuidePanel />,
  };
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden>
            ⟿
          </span>
          <div>
            <h1>steerlab</h1>
            <p>Emergent misalignment is easy, narrow misalignment is hard — reproduced in your browser</p>
          </div>
        </div>
        <DeviceBanner />
      </header>
      <div className="layout">
        <Nav />
        <main className="main">
          <Notices />
          {panels[panel]()}
        </main>
      </div>
    </div>
  );
}
