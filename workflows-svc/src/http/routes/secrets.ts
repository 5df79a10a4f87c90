import { parseOrThrow, type SecretInfo } from '@wf/shared';
import { Router, type Request } from 'express';
import { currentUserId } from '../middleware/authenticate.js';
import { PutSecretBody, SecretNameParams } from '../schemas/requests.js';
import type { SecretResponseBody } from '../schemas/responses.js';
import type { RouteDeps } from './deps.js';

const secretView = (s: SecretInfo): SecretResponseBody => ({ name: s.name, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() });
const nameParam = (req: Request) => parseOrThrow(SecretNameParams, { name: req.params.name }, 'path').name;

/**
 * The caller's secrets: `PUT /secrets/:name` (201 created, 200 replaced), `GET /secrets`
 * (names and dates), `DELETE /secrets/:name`. No route ever answers with a value: actions
 * use them as `{{secrets.NAME}}`, resolved by the runner when the step runs.
 */
export function secretRoutes({ useCases }: RouteDeps): Router {
  const router = Router();

  router.put('/secrets/:name', async (req, res) => {
    const name = nameParam(req);
    const { value } = parseOrThrow(PutSecretBody, req.body);
    const { created, secret } = await useCases.putSecret.execute(currentUserId(req), name, value);
    res.status(created ? 201 : 200).json(secretView(secret));
  });

  router.get('/secrets', async (req, res) => {
    res.json({ items: (await useCases.listSecrets.execute(currentUserId(req))).map(secretView) });
  });

  router.delete('/secrets/:name', async (req, res) => {
    await useCases.deleteSecret.execute(currentUserId(req), nameParam(req));
    res.status(204).end();
  });

  return router;
}
