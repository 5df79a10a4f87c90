import { z } from 'zod';

/**
 * Conditions (a `filter` step's `when`, any action's `if`) are JSONLogic (jsonlogic.com):
 * data evaluated by an interpreter in the runner, never code. They read what a template
 * reads: `trigger.payload.*`, `trigger.type`, `steps.N.output.*`, `steps.N.status`,
 * `execution.attempt`. Checked here when a workflow is saved, so a typo in an operator is a
 * 400 and not a run that fails later.
 */
export const MAX_CONDITION_BYTES = 4_096;
export const MAX_CONDITION_DEPTH = 16;

/** JSONLogic's operators that only compute on data (`log`, which writes to the console, is left out). */
export const CONDITION_OPERATORS: ReadonlySet<string> = new Set([
  '==', '===', '!=', '!==', '>', '>=', '<', '<=', '!!', '!', '%', 'in', 'cat', 'substr', '+', '*', '-', '/',
  'min', 'max', 'merge', 'var', 'missing', 'missing_some', 'if', '?:', 'and', 'or', 'filter', 'map', 'reduce', 'all', 'none', 'some',
]);
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first problem with `expression` as a condition, or undefined when it is one. */
export function conditionProblem(expression: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(expression);
  } catch {
    return 'must be JSON';
  }
  if (text === undefined) return 'must be JSON';
  if (new TextEncoder().encode(text).length > MAX_CONDITION_BYTES) return `must be at most ${MAX_CONDITION_BYTES} bytes of JSON`;
  return walk(expression, 0);
}

function walk(node: unknown, depth: number): string | undefined {
  if (depth > MAX_CONDITION_DEPTH) return `must be at most ${MAX_CONDITION_DEPTH} levels deep`;
  if (Array.isArray(node)) {
    for (const item of node) {
      const problem = walk(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (node === null || typeof node !== 'object') return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return 'an operation is an object with exactly one operator, e.g. {"==": [{"var": "trigger.payload.kind"}, "order"]}';
  const op = keys[0] as string;
  if (!CONDITION_OPERATORS.has(op)) return `unknown operator "${op}"`;
  const args = (node as Record<string, unknown>)[op];
  if (op === 'var' || op === 'missing' || op === 'missing_some') {
    const paths = (Array.isArray(args) ? args : [args]).flat().filter((a): a is string => typeof a === 'string');
    const bad = paths.find((p) => p.split('.').some((s) => FORBIDDEN_SEGMENTS.has(s)));
    if (bad !== undefined) return `path "${bad}" uses a forbidden name`;
  }
  return walk(args, depth + 1);
}

/** A JSONLogic expression, e.g. `{">": [{"var": "trigger.payload.amount"}, 100]}`. */
export const ConditionSchema = z.unknown().superRefine((value, ctx) => {
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is required' });
    return;
  }
  const problem = conditionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
