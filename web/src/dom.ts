// Small DOM helpers the pages share.

/** The element with this id. */
export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** A new element with text (set as text, never markup) and attributes. */
export function el<K extends keyof HTMLElementTagNameMap> (tag: K, text = '', attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (text) node.textContent = text
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  return node
}
