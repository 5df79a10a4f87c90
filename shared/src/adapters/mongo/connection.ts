import { randomUUID } from 'node:crypto';
import type { ClientSession, Model, QueryFilter, UpdateQuery, UpdateWithAggregationPipeline } from 'mongoose';
import type { Repos } from '../../ports/repos.js';
import type { Models } from './schema.js';

/*
 * What every repository works with: the models, the transaction's session (if any), store
 * time, and the batch claim several of them share.
 */

/** "Absent, or not after `now`": how the memory store reads an optional lease or due time. */
export const notAfter = (now: Date) => ({ $not: { $gt: now } });

export type SessionOption = { session?: ClientSession };

/**
 * Claims up to `limit` documents in three round trips, whatever the batch size (rather than one
 * findOneAndUpdate per document, each rescanning the index past those already taken): reads the ids
 * of the first candidates in `sort` order, updates those that still match `filter` (MongoDB
 * re-checks the filter on each document as it writes it, so of two concurrent claimers only
 * one takes a document) stamping them with a token of this claim, then reads back the ones that
 * carry the token, in candidate order. A candidate taken by someone else in between is left out.
 * The token stays on the documents until another claim takes them (the outbox uses it as its lock token).
 */
export async function claimInBatch<D extends { _id: unknown; claimToken?: string }>(
  model: Model<D>,
  query: { filter: QueryFilter<D>; sort: Record<string, 1 | -1>; limit: number },
  update: UpdateQuery<D> | UpdateWithAggregationPipeline,
  opts: SessionOption,
  claimToken: string = randomUUID(),
): Promise<D[]> {
  if (query.limit <= 0) return []; // a MongoDB limit of 0 means "no limit"
  // batchSize: the whole batch in the first reply (up to 16 MiB), not 101 documents and a getMore.
  const candidates = await model.find(query.filter, { _id: 1 }, opts).sort(query.sort).limit(query.limit).batchSize(query.limit).lean<Pick<D, '_id'>[]>();
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c._id);
  const taken = { $and: [query.filter, { _id: { $in: ids } }] } as QueryFilter<D>;
  if (Array.isArray(update)) await model.updateMany(taken, [...update, { $set: { claimToken } }], { ...opts, updatePipeline: true });
  else await model.updateMany(taken, { ...update, $set: { ...update.$set, claimToken } }, opts);
  const docs = await model.find({ _id: { $in: ids }, claimToken } as QueryFilter<D>, null, opts).batchSize(ids.length).lean<D[]>();
  const byId = new Map(docs.map((d) => [String(d._id), d]));
  return ids.flatMap((id) => byId.get(String(id)) ?? []);
}

/** What a repository is given: see createRepos (store.ts). */
export interface MongoContext {
  models: Models;
  limits: { maxStepOutputBytes: number };
  serverNow: () => Promise<Date>;
  session: ClientSession | undefined;
  /** Runs `work` in a transaction of its own: how a write made of several stands alone without a session. */
  transaction: (<T>(work: (repos: Repos) => Promise<T>) => Promise<T>) | undefined;
  /** The session, as the options of an operation. */
  opts: SessionOption;
  /** The options of a findOneAndUpdate that returns the document as written. */
  claim: SessionOption & { returnDocument: 'after' };
  /** A lease or lock of `ms` from store time. */
  leaseFrom(ms: number): Promise<Date>;
}
