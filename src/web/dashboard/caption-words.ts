// The caption page's words: each word as it arrives, chosen by hover, focus or ←/→ (the buttons or
// the keys), and the picture shows where the model looked for the chosen word. Until the user
// chooses, the newest word is shown.
import { drawAttention, type Picture } from './attention-canvas.ts';
import { h } from './dom.ts';

export interface CaptionWord {
  token: string | null;
  attention: number[] | null;
  gridSize: number | null;
}

export interface WordList {
  /** the words, then the ← → buttons */
  elements: HTMLElement[];
  readonly count: number;
  add(word: CaptionWord): void;
  /** no words; the next ones are followed again */
  clear(): void;
  /** the picture the chosen word's attention is drawn on */
  show(picture: Picture): void;
  /** removes the key handler */
  dispose(): void;
}

export function wordList(): WordList {
  const words = h('div', { class: 'words' });
  const prev = h('button', { class: 'prev', title: 'previous word (←)', disabled: '' }, '←') as HTMLButtonElement;
  const next = h('button', { class: 'next', title: 'next word (→)', disabled: '' }, '→') as HTMLButtonElement;
  let tokens: CaptionWord[] = [];
  let picture: Picture | undefined;
  let selected: number | null = null;
  /** until the user hovers or steps, the picture follows the newest word */
  let followLive = true;

  const select = (index: number | null) => {
    selected = index;
    words.querySelectorAll('.word').forEach((el, i) => el.classList.toggle('selected', i === index));
    prev.disabled = index === null || index <= 0;
    next.disabled = index === null || index >= tokens.length - 1;
    const token = index === null ? undefined : tokens[index];
    if (picture) drawAttention(picture, token ? index : null, token?.attention ?? undefined, token?.gridSize ?? undefined);
  };
  const choose = (index: number) => {
    followLive = false;
    select(index);
  };
  const step = (delta: number) => {
    if (tokens.length > 0) choose(Math.min(Math.max((selected ?? -1) + delta, 0), tokens.length - 1));
  };
  prev.addEventListener('click', () => step(-1));
  next.addEventListener('click', () => step(1));
  const onKey = (event: KeyboardEvent) => {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    if (event.key === 'ArrowLeft') step(-1);
    if (event.key === 'ArrowRight') step(1);
  };
  document.addEventListener('keydown', onKey);

  return {
    elements: [words, h('p', {}, prev, ' ', next)],
    get count() {
      return tokens.length;
    },
    add(word) {
      const index = tokens.length;
      tokens.push(word);
      const span = h('span', { class: 'word', 'data-index': String(index), tabindex: '0' }, word.token ?? '');
      span.addEventListener('mouseenter', () => choose(index));
      span.addEventListener('focus', () => choose(index));
      words.append(span, ' ');
      select(followLive ? index : selected); // (also the buttons' state)
    },
    clear() {
      words.replaceChildren();
      tokens = [];
      followLive = true;
      select(null);
    },
    show(shown) {
      picture = shown;
      select(selected);
    },
    dispose: () => document.removeEventListener('keydown', onKey),
  };
}
