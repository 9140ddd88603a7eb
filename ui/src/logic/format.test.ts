import { describe, expect, it } from 'vitest'
import {
  countdownClass,
  countdownLabel,
  errorText,
  titleParts,
  formatDateTime,
  formatSlot,
  kindName,
  slotParts,
  stars,
} from './format'
import type { Countdown } from '../api/contract'

const cd = (over: Partial<Countdown> = {}): Countdown => ({
  clock_name: '办结时限',
  due_at: '2026-12-01T01:00:00Z',
  remaining_minutes: 42,
  level: 'normal',
  provisional: false,
  label: '剩余 0小时42分',
  ...over,
})

describe('countdown', () => {
  it('maps each level to its class', () => {
    expect(countdownClass(cd({ level: 'normal' }))).toBe('cd-normal')
    expect(countdownClass(cd({ level: 'warning' }))).toBe('cd-warning')
    expect(countdownClass(cd({ level: 'overdue' }))).toBe('cd-overdue')
    expect(countdownClass(cd({ level: 'paused' }))).toBe('cd-paused')
    expect(countdownClass(null)).toBe('cd-none')
  })
  it('falls back to normal for an unknown level', () => {
    expect(countdownClass(cd({ level: 'weird' as never }))).toBe('cd-normal')
  })
  it('uses the shell label and marks provisional deadlines', () => {
    expect(countdownLabel(cd())).toBe('剩余 0小时42分')
    expect(countdownLabel(cd({ provisional: true }))).toBe('剩余 0小时42分（暂定）')
    expect(countdownLabel(cd({ provisional: true, label: '剩余 1天（暂定）' }))).toBe('剩余 1天（暂定）')
  })
  it('builds a label when the shell sent none', () => {
    expect(countdownLabel(cd({ label: '', remaining_minutes: 125 }))).toBe('剩余 2小时5分')
    expect(countdownLabel(cd({ label: '', remaining_minutes: -30, level: 'overdue' }))).toBe('已超期 30分')
    expect(countdownLabel(cd({ label: ' ', level: 'paused', due_at: null }))).toBe('暂停')
    expect(countdownLabel(null)).toBe('—')
  })
})

describe('labels', () => {
  it('prefers the given Chinese name and falls back by kind', () => {
    expect(kindName('complaint', '投诉')).toBe('投诉')
    expect(kindName('delegated_case', '')).toBe('代办件')
    expect(kindName('mystery', null)).toBe('mystery')
  })
  it('formats instants in Asia/Shanghai', () => {
    expect(formatDateTime('2026-11-30T16:30:00Z')).toBe('2026-12-01 00:30')
    expect(formatDateTime(null)).toBe('—')
    expect(formatDateTime('garbage')).toBe('garbage')
  })
  it('splits and formats local slots', () => {
    const s = { start: '2026-12-01T09:00:00', end: '2026-12-01T09:30:00' }
    expect(slotParts(s)).toEqual({ date: '2026-12-01', start: '09:00', end: '09:30' })
    expect(formatSlot(s)).toBe('2026-12-01 09:00–09:30')
    expect(slotParts(null)).toEqual({ date: '', start: '', end: '' })
    expect(formatSlot(null)).toBe('—')
  })
  it('renders ratings as stars', () => {
    expect(stars(3)).toBe('★★★☆☆')
    expect(stars(5)).toBe('★★★★★')
    expect(stars(9)).toBe('★★★★★')
    expect(stars(0)).toBe('☆☆☆☆☆')
    expect(stars(null)).toBe('未评分')
  })
})

describe('titleParts', () => {
  it('says the matter once when the title repeats it', () => {
    expect(titleParts('出生登记', '出生登记')).toEqual({ main: '出生登记', extra: '' })
    expect(titleParts('临时救助申请', '临时救助')).toEqual({ main: '临时救助申请', extra: '' })
    expect(titleParts('出生登记', '出生登记（二孩）')).toEqual({ main: '出生登记', extra: '（二孩）' })
  })
  it('keeps a title that says something else, and either one alone', () => {
    expect(titleParts('户籍迁入', '夫妻投靠')).toEqual({ main: '户籍迁入', extra: '夫妻投靠' })
    expect(titleParts(null, '咨询：医保转移')).toEqual({ main: '咨询：医保转移', extra: '' })
    expect(titleParts('户籍迁入', '')).toEqual({ main: '户籍迁入', extra: '' })
  })
})

describe('errorText', () => {
  it('adds lockout minutes, rounded up', () => {
    expect(errorText({ code: 'locked', message: '账户已锁定', retry_after_secs: 61 })).toBe('账户已锁定（请 2 分钟后再试）')
    expect(errorText({ code: 'locked', message: '账户已锁定', retry_after_secs: 10 })).toBe('账户已锁定（请 1 分钟后再试）')
  })
  it('shows other messages unchanged', () => {
    expect(errorText({ code: 'wrong_password', message: '用户名或密码错误' })).toBe('用户名或密码错误')
    expect(errorText({ code: 'locked', message: '账户已锁定', retry_after_secs: null })).toBe('账户已锁定')
  })
})
