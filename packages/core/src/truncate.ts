// Shrinking the two list-valued context headers to a byte budget without breaking their syntax.
import { utf8Length } from './values.js';

/** W3C: list members longer than this are the first to go when tracestate must be truncated. */
const TRACESTATE_LARGE_MEMBER = 128;

function splitMembers(value: string): string[] {
  const parts = value.split(',');
  const members: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const m = parts[i]!.trim();
    if (m !== '') members.push(m);
  }
  return members;
}

function joinedBytes(members: string[]): number {
  let n = members.length > 0 ? members.length - 1 : 0;
  for (let i = 0; i < members.length; i++) n += utf8Length(members[i]!);
  return n;
}

function memberKey(member: string): string {
  const eq = member.indexOf('=');
  const semi = member.indexOf(';');
  const end = eq >= 0 ? eq : semi >= 0 ? semi : member.length;
  return member.slice(0, end).trim();
}

/**
 * Truncates a tracestate value to at most `limit` bytes by the W3C rule: members longer than 128 characters are
 * removed first (from the right), then members from the right end. Removed members are pushed to `dropped`
 * as `tracestate:{key}`. Returns '' when nothing fits.
 */
export function truncateTraceState(value: string, limit: number, dropped: string[]): string {
  const members = splitMembers(value);
  let size = joinedBytes(members);
  for (let i = members.length - 1; i >= 0 && size > limit; i--) {
    const m = members[i]!;
    if (m.length > TRACESTATE_LARGE_MEMBER) {
      members.splice(i, 1);
      dropped.push('tracestate:' + memberKey(m));
      size = joinedBytes(members);
    }
  }
  while (members.length > 0 && size > limit) {
    dropped.push('tracestate:' + memberKey(members.pop()!));
    size = joinedBytes(members);
  }
  return members.join(',');
}

/**
 * Trims a baggage value to at most `limit` bytes by removing whole members (with their properties) from the end.
 * Removed members are pushed to `dropped` as `baggage:{key}`. Returns '' when nothing fits.
 */
export function trimBaggage(value: string, limit: number, dropped: string[]): string {
  const members = splitMembers(value);
  let size = joinedBytes(members);
  while (members.length > 0 && size > limit) {
    dropped.push('baggage:' + memberKey(members.pop()!));
    size = joinedBytes(members);
  }
  return members.join(',');
}
