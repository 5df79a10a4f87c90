// How BullMQ reaches Redis in the baseline: through ioredis, its usual driver (a dev
// dependency of `system`, since BullMQ 6 made it an optional peer).

/** The `connection` option for a Queue or Worker. */
export function bullmqConnection(host, port) {
  return { host, port, maxRetriesPerRequest: null };
}
