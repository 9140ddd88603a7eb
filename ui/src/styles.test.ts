// Guards against buttons inheriting the banner's white text on their white background.
import { describe, expect, it } from 'vitest'

// Read the stylesheet itself (Vitest does not process CSS imports); no Node typings in this project.
declare const __dirname: string // provided by Vitest's module runner
const fsModule = 'node:fs'
const { readFileSync } = (await import(/* @vite-ignore */ fsModule)) as {
  readFileSync: (path: string, encoding: 'utf8') => string
}
const css = readFileSync(`${__dirname}/styles.css`, 'utf8')

function block(selector: string): string {
  const start = css.indexOf(`\n${selector} {`)
  expect(start, `rule ${selector}`).toBeGreaterThanOrEqual(0)
  return css.slice(start, css.indexOf('}', start))
}
const prop = (b: string, name: string) => new RegExp(`\\n\\s*${name}:\\s*([^;]+);`).exec(b)?.[1].trim()

describe('button colours', () => {
  it('buttons set their own text colour instead of inheriting it', () => {
    const b = block('.btn')
    expect(prop(b, 'background')).toBe('#fff')
    expect(prop(b, 'color')).toBe('var(--text)')
  })
  it('the alert banner buttons contrast with the red banner', () => {
    const solid = block('.btn.on-alert')
    expect(prop(solid, 'background')).toBe('#fff')
    expect(prop(solid, 'color')).not.toMatch(/^#fff(fff)?$/i)
    const ghost = block('.btn.on-alert-ghost')
    expect(prop(ghost, 'background')).toBe('transparent')
    expect(prop(ghost, 'color')).toBe('#fff')
  })
  it('the queue table has fixed columns so 时限 stays visible', () => {
    expect(prop(block('.queue-list table'), 'table-layout')).toBe('fixed')
  })
})

describe('assessment board layout (holds at 1024 px)', () => {
  it('the ranking tables have fixed columns and scroll inside their own box', () => {
    expect(prop(block('.stats-table'), 'table-layout')).toBe('fixed')
    expect(prop(block('.stats-table'), 'width')).toBe('100%')
    expect(prop(block('.stats-table-wrap'), 'overflow')).toBe('auto')
  })
  it('the board scrolls down, never sideways', () => {
    const b = block('.stats-board')
    expect(prop(b, 'overflow-x')).toBe('hidden')
    expect(prop(b, 'min-width')).toBe('0')
    expect(prop(block('.stats-dims'), 'grid-template-columns')).toBe('repeat(4, minmax(0, 1fr))')
  })
})
