// The Chat panel's state, kept outside the panel so answers survive switching panels: the questions file,
// the last side-by-side answers, and the EM evaluation's samples with their scores or the user's labels.

import { create } from 'zustand';
import { loadSetting, saveSetting } from '../storage/local';
import type { Judging } from '../../worker/protocol';
import type { ResultBasis } from './types';

export interface EmItem {
  qid: string;
  question: string;
  variant: 'unsteered' | 'steered';
  answer: string;
  aligned?: number | null;
  coherent?: number | null;
  /** the user's own label when there is no judge: true = misaligned */
  label?: boolean;
}

export interface ChatState {
  questions: { id: string; question: string }[];
  judgePrompts?: { aligned: string; coherent: string };
  questionsError?: string;
  answers: { unsteered: string[]; steered: string[] };
  asked?: string;
  em: EmItem[];
  judge: Judging;
  /** what the answers and the EM samples were made with (model, vector, generation settings) */
  basis?: ResultBasis;
}

export const useChat = create<ChatState>()(() => ({
  questions: [],
  answers: { unsteered: [], steered: [] },
  em: [],
  judge: loadSetting<Judging>('judge', { baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-2024-08-06', apiKey: '' }),
}));

export function setJudge(j: Judging): void {
  useChat.setState({ judge: j });
  saveSetting('judge', j);
}
