import type { SecretRepo } from '../../ports/repos.js';
import type { SecretInfo } from '../../domain/secret.js';
import type { MongoContext } from './connection.js';
import type { SecretDoc } from './schema.js';


export function createSecretRepo(ctx: MongoContext): SecretRepo {
  const { models, opts } = ctx;
  const secrets: SecretRepo = {
    async put(secret) {
      const { ownerId, name, ciphertext, createdAt, updatedAt } = secret;
      const result = await models.Secret.updateOne({ ownerId, name }, { $set: { ciphertext, updatedAt }, $setOnInsert: { createdAt } }, { ...opts, upsert: true });
      return result.upsertedCount > 0;
    },
    async list(ownerId) {
      const docs = await models.Secret.find({ ownerId }, { _id: 0, name: 1, createdAt: 1, updatedAt: 1 }, opts).sort({ name: 1 }).lean<SecretInfo[]>();
      return docs.map(({ name, createdAt, updatedAt }) => ({ name, createdAt, updatedAt }));
    },
    async getMany(ownerId, names) {
      if (names.length === 0) return [];
      const docs = await models.Secret.find({ ownerId, name: { $in: [...names] } }, { _id: 0 }, opts).lean<SecretDoc[]>();
      return docs.map(({ ownerId: owner, name, ciphertext, createdAt, updatedAt }) => ({ ownerId: owner, name, ciphertext, createdAt, updatedAt }));
    },
    async delete(ownerId, name) {
      const result = await models.Secret.deleteOne({ ownerId, name }, opts);
      return result.deletedCount > 0;
    },
  };
  return secrets;
}
