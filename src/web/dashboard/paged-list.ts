// A list shown one page at a time over a cursor connection, with "‹ previous" / "next ›" and
// "21–40 of 5,000 models" under it. The API pages forward only (after: endCursor), so the cursor each
// page was asked with is kept on a stack: "previous" asks the earlier cursor again. A filter change
// starts over from the first page. Answers that arrive after a newer request (a fast typist, a slow
// page) or after the page was left are dropped.
import type { Connection } from './api.ts';
import { h } from './dom.ts';

/** rows per page on every list of the dashboard */
export const PAGE_SIZE = 20;

export interface PageRequest {
  first: number;
  after: string | null;
}

export interface PagedListOptions<T> {
  /** one page of the list with the page's current filters */
  fetch: (page: PageRequest) => Promise<Connection<T>>;
  /** the rows as an element (a table, or a sentence when there are none) */
  render: (rows: T[]) => HTMLElement;
  /** the rows' plural noun in "1–20 of 5,000 models" */
  noun: string;
  onError: (error: Error) => void;
  /** after each page shown (from any button, reload or restart) */
  onShown?: (rows: T[]) => void;
}

export interface PagedList<T> {
  /** the rows and the pager under them */
  element: HTMLElement;
  /** asks the current page again (after a change, or on a refresh timer); its rows, or undefined when dropped or failed */
  reload(): Promise<T[] | undefined>;
  /** back to the first page (its filters changed) */
  restart(): Promise<T[] | undefined>;
  /** drops answers still on their way */
  stop(): void;
}

export function pagedList<T>(options: PagedListOptions<T>): PagedList<T> {
  const rows = h('div', { class: 'page-rows' }, 'loading…');
  const previous = h('button', { class: 'previous', type: 'button', disabled: '' }, '‹ previous') as HTMLButtonElement;
  const next = h('button', { class: 'next', type: 'button', disabled: '' }, 'next ›') as HTMLButtonElement;
  const range = h('span', { class: 'range' });
  const pager = h('p', { class: 'pager' }, previous, ' ', range, ' ', next);
  /** the `after` of every page from the first to the one shown */
  let cursors: (string | null)[] = [null];
  /** the stack being asked for: a refresh while a click's page is on its way asks that page */
  let wanted = cursors;
  let endCursor: string | null = null;
  let asked = 0;
  let stopped = false;
  const enableButtons = () => {
    previous.disabled = cursors.length === 1;
    next.disabled = endCursor === null;
  };

  /** asks the last page of `stack` and, once it arrives, shows it */
  const show = async (stack: (string | null)[]): Promise<T[] | undefined> => {
    const request = ++asked;
    wanted = stack;
    let page: Connection<T>;
    try {
      page = await options.fetch({ first: PAGE_SIZE, after: stack.at(-1)! });
    } catch (error) {
      if (request !== asked || stopped) return undefined;
      wanted = cursors;
      enableButtons();
      options.onError(error as Error);
      return undefined;
    }
    if (request !== asked || stopped) return undefined;
    const nodes = page.edges.map((e) => e.node);
    // the rows of this page are gone (deleted, or filtered out): show the one before
    if (nodes.length === 0 && stack.length > 1) return show(stack.slice(0, -1));
    cursors = stack;
    endCursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    const first = (cursors.length - 1) * PAGE_SIZE + 1;
    range.textContent = `${first}–${first + nodes.length - 1} of ${page.totalCount.toLocaleString('en')} ${options.noun}`;
    pager.hidden = nodes.length === 0;
    enableButtons();
    rows.replaceChildren(options.render(nodes));
    options.onShown?.(nodes);
    return nodes;
  };

  // a click disables both buttons until its page is shown: a second click cannot skip a page
  previous.addEventListener('click', () => {
    previous.disabled = next.disabled = true;
    void show(cursors.slice(0, -1));
  });
  next.addEventListener('click', () => {
    previous.disabled = next.disabled = true;
    void show([...cursors, endCursor]);
  });

  return {
    element: h('div', { class: 'paged-list' }, rows, pager),
    reload: () => show(wanted),
    restart: () => show([null]),
    stop: () => {
      stopped = true;
    },
  };
}
