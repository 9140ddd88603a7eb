import { describe, expect, it } from 'vitest'
import { busyWithDialog, updateText } from './update'

describe('desk updates', () => {
  it('says version, size and what is new', () => {
    expect(updateText({ version: '0.2.0', notes: '修复叫号屏', size: 3 * 1024 * 1024 })).toBe(
      '新版本 0.2.0 可以安装（3.0 MB）：修复叫号屏',
    )
    expect(updateText({ version: '0.2.1', notes: '小修', size: 50_000 })).toBe('新版本 0.2.1 可以安装（49 KB）：小修')
  })
  it('never starts while a modal dialog of the clerk is open', () => {
    const root = document.createElement('div')
    expect(busyWithDialog(root)).toBe(false)
    const popover = document.createElement('div')
    popover.setAttribute('role', 'dialog') // the settings popover is not modal work
    root.appendChild(popover)
    expect(busyWithDialog(root)).toBe(false)
    const modal = document.createElement('div')
    modal.setAttribute('role', 'dialog')
    modal.setAttribute('aria-modal', 'true')
    root.appendChild(modal)
    expect(busyWithDialog(root)).toBe(true)
  })
})
