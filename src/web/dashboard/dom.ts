// A tiny element builder: h('td', { class: 'x' }, 'text', child).
export function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** A <select name=…> with one option per [value, label] pair, the first selected. */
export function select(name: string, options: readonly (readonly [value: string, label: string])[]): HTMLSelectElement {
  return h('select', { name }, ...options.map(([value, label]) => h('option', { value }, label))) as HTMLSelectElement;
}
