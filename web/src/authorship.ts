// Authorship colours, as Etherpad shows them, at no cost on the wire: every run of text in a
// Y.Text already carries the Yjs client that inserted it. We paint translucent boxes behind
// those runs (a layer under the editor), coloured by the author's chosen colour: from presence
// while they are here, and from the pad's "authors" map (each client writes its own entry once).
import type Quill from 'quill'
import type { Awareness } from 'y-protocols/awareness'
import type * as Y from 'yjs'
import { safeColor } from './color'

interface Author { name: string, color: string }
type Run = [index: number, length: number, client: number]

interface ItemLike { deleted: boolean, countable: boolean, length: number, id: { client: number }, right: ItemLike | null }

export function runsOf (ytext: Y.Text): Run[] {
  const runs: Run[] = []
  let index = 0
  let item = (ytext as unknown as { _start: ItemLike | null })._start
  while (item !== null) {
    if (!item.deleted && item.countable) {
      const last = runs[runs.length - 1]
      if (last !== undefined && last[2] === item.id.client && last[0] + last[1] === index) last[1] += item.length
      else runs.push([index, item.length, item.id.client])
      index += item.length
    }
    item = item.right
  }
  return runs
}

function fallbackColor (client: number): string {
  return `hsl(${(client * 137) % 360} 60% 55%)`
}

export function mountAuthorship (quill: Quill, ytext: Y.Text, awareness: Awareness, toggle: HTMLInputElement, me: () => Author): void {
  const doc = ytext.doc as Y.Doc
  const authors = doc.getMap<Author>('authors')
  const layer = document.createElement('div')
  layer.className = 'author-layer'
  layer.setAttribute('aria-hidden', 'true')
  quill.container.prepend(layer)
  let recorded = false
  ytext.observe((_event, transaction) => {
    if (transaction.local && !recorded && !quill.root.getAttribute('contenteditable')?.startsWith('false')) {
      recorded = true
      const { name, color } = me()
      setTimeout(() => authors.set(String(doc.clientID), { name: name.slice(0, 40), color }), 0)
    }
  })
  const colorOf = (client: number): string => {
    const present = (awareness.getStates().get(client) as { user?: Author } | undefined)?.user?.color
    return safeColor(present ?? authors.get(String(client))?.color, fallbackColor(client))
  }
  const selection = (quill as unknown as { selection: { rangeToNative: (r: { index: number, length: number }) => [Node | null, number, Node | null, number] } }).selection
  let pending = 0
  const draw = (): void => {
    pending = 0
    layer.replaceChildren()
    if (!toggle.checked) return
    const base = quill.container.getBoundingClientRect()
    const boxes: HTMLElement[] = []
    for (const [index, length, client] of runsOf(ytext)) {
      const [startNode, startOffset, endNode, endOffset] = selection.rangeToNative({ index, length })
      if (startNode === null || endNode === null) continue
      const range = document.createRange()
      try {
        range.setStart(startNode, startOffset)
        range.setEnd(endNode, endOffset)
      } catch {
        continue
      }
      const tint = `color-mix(in srgb, ${colorOf(client)} 28%, transparent)`
      for (const rect of range.getClientRects()) {
        if (rect.width < 1) continue
        const box = document.createElement('div')
        box.style.cssText = `left:${rect.left - base.left}px;top:${rect.top - base.top}px;width:${rect.width}px;height:${rect.height}px;background:${tint}`
        boxes.push(box)
      }
    }
    layer.append(...boxes)
  }
  const schedule = (): void => {
    if (pending === 0) pending = window.setTimeout(() => requestAnimationFrame(draw), 120)
  }
  quill.on('text-change', schedule)
  quill.root.addEventListener('scroll', schedule)
  window.addEventListener('resize', schedule)
  awareness.on('change', schedule)
  authors.observe(schedule)
  toggle.addEventListener('change', schedule)
  schedule()
}
