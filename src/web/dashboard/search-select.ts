// A <select> whose options are what the search box beside it finds: typeahead over a paginated query,
// so choosing among thousands (models, datasets) never loads them all. Typing asks again after a short
// pause; the choice stays when it is among the new matches, otherwise the first match is chosen.
import { h } from './dom.ts';

export type Choice = readonly [value: string, label: string];

/** matches asked at most this often while typing */
const PAUSE_MS = 200;

export interface SearchSelectOptions {
  /** the <select>'s name (the form field it fills) */
  name: string;
  /** the search box's hint, e.g. "search models by name" */
  placeholder: string;
  /** the choices matching `text` (one page of them) */
  find: (text: string) => Promise<Choice[]>;
  /** a choice listed before the matches, e.g. ['', 'all datasets'] */
  first?: Choice;
  /** the chosen value changed (by the user or by new matches) */
  onChange?: (value: string) => void;
  onError: (error: Error) => void;
}

export interface SearchSelect {
  search: HTMLInputElement;
  select: HTMLSelectElement;
  /** asks the matches of what the box holds now; resolves with how many were found (undefined: dropped or failed) */
  refresh(): Promise<number | undefined>;
  /** adds (when missing) and selects a choice known another way, such as a model named in the page's URL */
  choose(choice: Choice): void;
  /** no more asking: a pending pause is cancelled, answers on their way are dropped */
  stop(): void;
}

export function searchSelect(options: SearchSelectOptions): SearchSelect {
  const search = h('input', { type: 'search', name: `${options.name}-search`, placeholder: options.placeholder }) as HTMLInputElement;
  const select = h('select', { name: options.name }) as HTMLSelectElement;
  let asked = 0;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const fill = (choices: readonly Choice[]) => {
    const before = select.value;
    const all = options.first ? [options.first, ...choices] : choices;
    select.replaceChildren(...all.map(([value, label]) => h('option', { value }, label)));
    if (all.length === 0) select.append(h('option', { value: '', disabled: '' }, 'no match'));
    if (all.some(([value]) => value === before)) select.value = before;
    if (select.value !== before) options.onChange?.(select.value);
  };

  const refresh = async (): Promise<number | undefined> => {
    clearTimeout(timer);
    const request = ++asked;
    try {
      const choices = await options.find(search.value.trim());
      if (request !== asked || stopped) return undefined;
      fill(choices);
      return choices.length;
    } catch (error) {
      if (request === asked && !stopped) options.onError(error as Error);
      return undefined;
    }
  };

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), PAUSE_MS);
  });
  select.addEventListener('change', () => options.onChange?.(select.value));

  return {
    search,
    select,
    refresh,
    choose([value, label]) {
      if (!Array.from(select.options).some((o) => o.value === value && !o.disabled)) {
        select.querySelector('option[disabled]')?.remove();
        select.prepend(h('option', { value }, label));
      }
      select.value = value;
      options.onChange?.(value);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
